"""Woodpecker.co source: campaigns, prospects, campaign memberships, vendor stats, opens and clicks.

API references:
- v1 prospects: https://developers.woodpecker.co/docs/prospects/get-prospects
- v1 campaign list and stats: https://developers.woodpecker.co/docs/campaigns/GET-campaign-list-v1
- v2 campaign structure: https://docs.woodpecker.co/en/articles/9046676-campaigns

Every resource merges on its primary key. Change detection, reconciliation of deletes and the request
budget of a run are described in docs/source.md.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources import DltResource

from . import settings
from .client import WoodpeckerClient
from .columnar import TableSpec, to_arrow
from .errors import ApiError, ConfigurationError
from .helpers import (
    RunContext,
    SourceOptions,
    as_datetime,
    chunk_ids,
    click_key,
    earliest,
    field_of,
    join_ids,
    last_full_scan_rows,
    membership_key,
    page_time,
    prospect_key,
    record_full_scan,
    row_hash,
    utc_now,
)
from .normalise import (
    campaign_details_fields,
    flatten_steps,
    normalise_campaign,
    normalise_click,
    normalise_open,
    normalise_stats,
    prospect_value,
)
from .paging import AscendingScan, FetchPage, KeyOf, Page, RecentScan, Row, ScanResult, ValueOf
from .progress import RunStats
from .schema import (
    CAMPAIGN_PROSPECTS_COLUMNS,
    CAMPAIGN_PROSPECTS_SPEC,
    CAMPAIGN_STATS_COLUMNS,
    CAMPAIGN_STEP_VERSIONS_COLUMNS,
    CAMPAIGN_STEPS_COLUMNS,
    CAMPAIGNS_COLUMNS,
    PROSPECT_CLICKS_COLUMNS,
    PROSPECT_OPENS_COLUMNS,
    PROSPECTS_COLUMNS,
    PROSPECTS_SPEC,
    REJECTED_RECORDS_COLUMNS,
)
from .webhook_events import webhook_events_resource

__all__ = ["woodpecker_source"]

logger = logging.getLogger(__name__)


ARROW_RESOURCES = (settings.PROSPECTS, settings.CAMPAIGN_PROSPECTS)


class _JsonAsArrowText(logging.Filter):
    """Drops dlt's per-page warning that a JSON column arrives as Arrow text: that is by design.

    Arrow has no JSON type dlt recognises; `_unparsed` and `snippet_labels` carry JSON text that the
    destination stores in its JSON type, as the column hints declare.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "when merging arrow schema with dlt schema" in message
            and any(f"resource: {table}," in message for table in ARROW_RESOURCES)
        )


_JSON_FILTER = _JsonAsArrowText()

# Cursor names kept in resource state (aware UTC datetimes).
UPDATED = "updated"
LAST_CONTACTED = "last_contacted"
LAST_REPLIED = "last_replied"
BOUNCED = "bounced"
CHANGE_CURSORS = (UPDATED, LAST_CONTACTED, LAST_REPLIED, BOUNCED)


@dlt.source(name="woodpecker", root_key=True)
def woodpecker_source(
    api_key: str = dlt.secrets.value,
    base_url: str = settings.DEFAULT_BASE_URL,
    company_id: str | None = None,
    reconcile: bool | None = None,
    reconcile_every_days: float = settings.DEFAULT_RECONCILE_EVERY_DAYS,
    lag_seconds: int = settings.DEFAULT_LAG_SECONDS,
    activity_lookback_hours: float = settings.DEFAULT_ACTIVITY_LOOKBACK_HOURS,
    stats_max_age_hours: float = settings.DEFAULT_STATS_MAX_AGE_HOURS,
    per_page: int = settings.DEFAULT_PER_PAGE,
    request_timeout: float = settings.DEFAULT_REQUEST_TIMEOUT_S,
    max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
    backoff_factor: float = settings.DEFAULT_BACKOFF_FACTOR,
    webhook_spool: str | None = None,
    run_stats: RunStats | None = None,
) -> Sequence[DltResource]:
    """Load a Woodpecker account.

    Args:
        api_key: Woodpecker API key (`SOURCES__WOODPECKER__API_KEY` or `[sources.woodpecker] api_key`).
        base_url: Scheme and host of the API.
        company_id: With an agency key as `api_key`, the client company whose account is loaded (sent as
            the `x-company-id` header); None for a company's own key.
        reconcile: True: full scans this run to detect deletes; False: never; None: every
            `reconcile_every_days` per table.
        reconcile_every_days: Schedule of full scans when `reconcile` is None.
        lag_seconds: Overlap subtracted from every cursor.
        activity_lookback_hours: How far back (by send time) the bounce stream looks.
        stats_max_age_hours: Campaign stats older than this are fetched again even without changes.
        per_page: Page size of v1 lists (1..1000).
        request_timeout: Seconds to wait for an answer.
        max_attempts: Attempts per request, the first included.
        backoff_factor: Exponential back-off factor in seconds (0 = retry at once).
        webhook_spool: Spool directory of the webhook receiver (`sources.woodpecker.webhook_spool`);
            when set, the `webhook_events` resource loads it, else webhook events are skipped.
        run_stats: Counters for progress output; a private one is used when None.

    Returns:
        The resources, in the order they run: campaigns, prospects, campaign_prospects, prospect_opens,
        prospect_clicks, campaign_stats, and webhook_events when a spool is configured.
    """
    if not 1 <= per_page <= settings.MAX_PER_PAGE:
        raise ConfigurationError(f"per_page must be between 1 and {settings.MAX_PER_PAGE}, got {per_page}.")
    stats = run_stats if run_stats is not None else RunStats()
    logging.getLogger("dlt").addFilter(_JSON_FILTER)  # adding the same filter twice is a no-op
    client = WoodpeckerClient(
        api_key,
        base_url,
        stats,
        company_id=company_id,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        backoff_factor=backoff_factor,
    )
    options = SourceOptions(
        reconcile=reconcile,
        reconcile_every_days=reconcile_every_days,
        lag_seconds=lag_seconds,
        activity_lookback_hours=activity_lookback_hours,
        stats_max_age_hours=stats_max_age_hours,
        per_page=per_page,
    )
    ctx = RunContext(client, options)
    return (
        campaigns(ctx),
        prospects(ctx),
        campaign_prospects(ctx),
        prospect_opens(ctx),
        prospect_clicks(ctx),
        campaign_stats(ctx),
        *webhook_events_resource(webhook_spool),
    )


REJECTED_HINTS = dlt.mark.make_hints(
    table_name=settings.REJECTED_RECORDS,
    write_disposition="merge",
    primary_key=["table_name", "record_hash"],
    columns=REJECTED_RECORDS_COLUMNS,
    file_format="parquet",
)


def _merge_hints(columns: TTableSchemaColumns, primary_key: Sequence[str]) -> dict[str, Any]:
    return {
        "write_disposition": "merge",
        "primary_key": list(primary_key),
        "columns": columns,
        "file_format": "parquet",
        "max_table_nesting": 0,
    }


# -- campaigns ----------------------------------------------------------------------------------------


@dlt.resource(
    name=settings.CAMPAIGNS,
    write_disposition="merge",
    primary_key="id",
    file_format="parquet",
    max_table_nesting=0,
)
def campaigns(ctx: RunContext) -> Iterator[Any]:
    """Every campaign of `campaign_list`, enriched with v2 details; also its steps and A/B versions.

    v2 details are read for campaigns that are new or whose v1 row changed since the last run (a hash
    per campaign in resource state), and for all campaigns on reconcile runs.
    """
    ctx.begin(settings.CAMPAIGNS)
    state = dlt.current.resource_state()
    known: MutableMapping[str, Any] = state.setdefault("details", {})
    refresh_all = _details_refresh_due(ctx, state)
    raw_rows, answer = ctx.campaign_list(settings.CAMPAIGNS)
    rows: list[Row] = []
    for raw in raw_rows:
        campaign_id = int(raw["id"])
        fingerprint = row_hash({k: v for k, v in raw.items() if k != "stats"})
        previous: Mapping[str, Any] = known.get(str(campaign_id)) or {}
        changed = previous.get("hash") != fingerprint  # new, or its v1 row changed
        if changed:
            ctx.changed_campaigns.add(campaign_id)
        if changed or refresh_all:
            fields, steps, versions = _campaign_details(ctx, campaign_id)
            known[str(campaign_id)] = {"hash": fingerprint, "fields": fields}
            if steps:
                yield _to_table(settings.CAMPAIGN_STEPS, steps)
            if versions:
                yield _to_table(settings.CAMPAIGN_STEP_VERSIONS, versions)
        else:
            fields = previous.get("fields") or {}
        rows.append({**normalise_campaign(raw, answer.fetched_at), **fields})
    listed = {str(int(raw["id"])) for raw in raw_rows}
    for stale in [key for key in known if key not in listed]:
        del known[stale]
    if rows:
        ctx.client.stats.add_rows(settings.CAMPAIGNS, len(rows))
        yield _to_table(settings.CAMPAIGNS, rows)
    if refresh_all:
        state["details_refreshed_at"] = answer.fetched_at
    # the list may have been read by another resource earlier in the run: its rows carry that fetch time
    record_full_scan(settings.CAMPAIGNS, answer.fetched_at, consistent=True)


def _details_refresh_due(ctx: RunContext, state: Mapping[str, Any]) -> bool:
    if ctx.options.reconcile is not None:
        return ctx.options.reconcile
    last = as_datetime(state.get("details_refreshed_at"))
    if last is None:
        return True
    return (utc_now() - last).total_seconds() >= ctx.options.reconcile_every_days * 86400


def _campaign_details(ctx: RunContext, campaign_id: int) -> tuple[dict[str, Any], list[Row], list[Row]]:
    """v2 fields for the campaign row plus step and version rows; 404/409 become a status, not an error."""
    try:
        answer = ctx.client.campaign_details(campaign_id, settings.CAMPAIGNS)
    except ApiError as exc:
        if exc.status == 409 and exc.code == settings.UNSUPPORTED_CAMPAIGN_TYPE:
            status = "UNSUPPORTED"
        elif exc.status == 404:
            status = "NOT_FOUND"
        else:
            raise
        logger.info("Campaign %s: v2 details %s (%s)", campaign_id, status, exc.api_message)
        return {"details_status": status, "details_error": exc.api_message or exc.code}, [], []
    details = answer.body if isinstance(answer.body, Mapping) else {}
    steps, versions = flatten_steps(campaign_id, details, answer.fetched_at)
    return campaign_details_fields(details), steps, versions


TABLE_HINTS: dict[str, tuple[TTableSchemaColumns, list[str], str | None]] = {
    settings.CAMPAIGNS: (CAMPAIGNS_COLUMNS, ["id"], None),
    settings.CAMPAIGN_STEPS: (CAMPAIGN_STEPS_COLUMNS, ["campaign_id", "step_id"], "campaign_id"),
    settings.CAMPAIGN_STEP_VERSIONS: (
        CAMPAIGN_STEP_VERSIONS_COLUMNS,
        ["campaign_id", "step_id", "version_id"],
        "campaign_id",
    ),
}


def _to_table(table: str, rows: list[Row]) -> Any:
    """Rows for one of the three tables the `campaigns` resource writes, with that table's hints.

    Steps and versions carry `merge_key="campaign_id"`: a re-read campaign's steps replace its old ones.
    """
    columns, primary_key, merge_key = TABLE_HINTS[table]
    return dlt.mark.with_hints(
        rows,
        dlt.mark.make_hints(
            table_name=table,
            write_disposition="merge",
            primary_key=primary_key,
            merge_key=merge_key or "",
            columns=columns,
            file_format="parquet",
        ),
        create_table_variant=True,
    )


# -- prospects ----------------------------------------------------------------------------------------


@dlt.resource(name=settings.PROSPECTS, **_merge_hints(PROSPECTS_COLUMNS, ["id"]))
def prospects(ctx: RunContext) -> Iterator[Any]:
    """Prospects: a full scan on the first and on reconcile runs, else the change streams."""
    ctx.begin(settings.PROSPECTS)
    state = dlt.current.resource_state()
    fetch = ctx.fetcher(settings.PROSPECTS)
    pages = _pages(ctx, state, fetch, settings.PROSPECTS, [{}], prospect_key)
    yield from _typed_batches(ctx, pages, PROSPECTS_SPEC)


# -- campaign memberships -----------------------------------------------------------------------------


@dlt.resource(
    name=settings.CAMPAIGN_PROSPECTS,
    **_merge_hints(CAMPAIGN_PROSPECTS_COLUMNS, ["campaign_id", "prospect_id"]),
)
def campaign_prospects(ctx: RunContext) -> Iterator[Any]:
    """Campaign memberships from `prospects?campaigns_id=<all campaigns>`, key (campaign_id, prospect_id).

    Campaigns new since the last run are read in full; the others through the change streams.
    """
    ctx.begin(settings.CAMPAIGN_PROSPECTS)
    state = dlt.current.resource_state()
    fetch = ctx.fetcher(settings.CAMPAIGN_PROSPECTS)
    ids = ctx.campaign_ids(settings.CAMPAIGN_PROSPECTS)
    pages = _campaign_pages(ctx, state, fetch, settings.CAMPAIGN_PROSPECTS, ids)
    yield from _typed_batches(ctx, pages, CAMPAIGN_PROSPECTS_SPEC)


def _typed_batches(ctx: RunContext, pages: Iterable[Page], spec: TableSpec) -> Iterator[Any]:
    """Pages as typed Arrow tables of about `ARROW_BATCH_ROWS` rows, plus the records they could not load.

    dlt does fixed work per item it receives, so pages are handed over in batches (see columnar.py).
    """
    stats = ctx.client.stats
    batch: list[pa.Table] = []
    batch_rows = 0
    for page in pages:
        converted = to_arrow(page.rows, spec, page.answer.fetched_at)
        if converted.unparsed_values:
            stats.add_unparsed(spec.table, converted.unparsed_values)
        if converted.rejected:
            stats.add_rejected(spec.table, len(converted.rejected))
            logger.warning(
                "%d %s record(s) without a usable primary key were kept in %s",
                len(converted.rejected),
                spec.table,
                settings.REJECTED_RECORDS,
            )
            yield dlt.mark.with_hints(converted.rejected, REJECTED_HINTS, create_table_variant=True)
        if converted.table is None:
            continue
        stats.add_rows(spec.table, converted.table.num_rows)
        batch.append(converted.table)
        batch_rows += converted.table.num_rows
        if batch_rows >= settings.ARROW_BATCH_ROWS:
            yield pa.concat_tables(batch)
            batch, batch_rows = [], 0
    if batch:
        yield pa.concat_tables(batch)


def _campaign_pages(
    ctx: RunContext, state: MutableMapping[str, Any], fetch: FetchPage, table: str, ids: list[int]
) -> Iterator[Page]:
    """Pages of memberships: full scans for campaigns not read before, change streams for the rest."""
    param_sets = [{"campaigns_id": join_ids(chunk)} for chunk in chunk_ids(ids)]
    known_after = ids
    if ctx.full_scan_due(table, state.get(UPDATED) is not None):
        yield from _pages(ctx, state, fetch, table, param_sets, membership_key, force_full=True)
    else:
        known = set(state.get("campaign_ids") or [])
        new_ids = [i for i in ids if i not in known]
        old_ids = [i for i in ids if i in known]
        new_campaigns = FullScan()
        new_params = [{"campaigns_id": join_ids(chunk)} for chunk in chunk_ids(new_ids)]
        previous = as_datetime(state.get(UPDATED))
        yield from _full_scan(ctx, fetch, table, new_params, membership_key, new_campaigns, previous)
        old_params = [{"campaigns_id": join_ids(chunk)} for chunk in chunk_ids(old_ids)]
        if old_params:
            yield from _change_stream_pages(
                ctx,
                state,
                fetch,
                table,
                old_params,
                membership_key,
                extra_floor=new_campaigns.cursors,
                bounced_seed=new_campaigns.bounced,
            )
        if not new_campaigns.complete:
            known_after = old_ids  # new campaigns read incompletely are read in full again next run
    state["campaign_ids"] = known_after


@dataclass
class FullScan:
    """What the full scans over several filter sets established.

    Attributes:
        consistent: Every scan settled and read every row the API counted.
        resumes: Each scan's resume point on the API's clock (None: it could not settle).
        cursors: Each scan's next `updated` cursor, kept behind the data (None: the scan gives no bound,
            as when it read nothing on a first run).
        starts: Each scan's next activity cursor (its start, kept behind the data).
        bounced: Keys of recently bounced rows.
        rows: Rows read over all scans (re-reads included).
        counted: Whether every scan's answers carried `X-Total-Count`.
        complete: Every scan read as many rows as the API counted.
    """

    consistent: bool = True
    resumes: list[datetime | None] = field(default_factory=list)
    cursors: list[datetime | None] = field(default_factory=list)
    starts: list[datetime | None] = field(default_factory=list)
    bounced: set[Hashable] = field(default_factory=set)
    rows: int = 0
    counted: bool = True
    complete: bool = True


def _full_scan(
    ctx: RunContext,
    fetch: FetchPage,
    table: str,
    param_sets: list[dict[str, Any]],
    key: KeyOf,
    outcome: FullScan,
    previous: datetime | None,
) -> Iterator[Page]:
    """Every row of each filter set, ascending by `updated`; results are recorded in `outcome`.

    Each scan is checked against the API's count (`RunContext.check_complete`); `previous` (the
    `updated` cursor before this run) bounds the next cursors together with the data read.
    """
    for params in param_sets:
        scan = AscendingScan(
            fetch,
            params,
            sort_field=UPDATED,
            value=lambda r: prospect_value(r, UPDATED),
            key=key,
            since=None,
            per_page=ctx.options.per_page,
            on_repair=ctx.client.stats.add_repair,
            sizes=ctx.sizes,
            clock=page_time,
        )
        # Only rows of campaign lists name a campaign whose statistics the change concerns.
        pages = _touching(ctx, scan, scan.value, None) if "campaigns_id" in params else scan
        yield from _collect_bounced(pages, key, outcome.bounced, ctx.options.lookback)
        result = scan.result
        complete = ctx.check_complete(table, result, params)
        outcome.complete = outcome.complete and complete
        outcome.consistent = outcome.consistent and result.consistent and complete
        outcome.resumes.append(result.resume_from)
        outcome.cursors.append(ctx.cursor_after(result, result.resume_from, previous))
        outcome.starts.append(ctx.cursor_after(result, result.started, previous))
        outcome.rows += result.rows
        outcome.counted = outcome.counted and result.promised is not None


def _pages(
    ctx: RunContext,
    state: MutableMapping[str, Any],
    fetch: FetchPage,
    table: str,
    param_sets: list[dict[str, Any]],
    key: KeyOf,
    force_full: bool = False,
) -> Iterator[Page]:
    """A full scan (first run, reconcile) or the change streams, over one or more filter sets."""
    if not (force_full or ctx.full_scan_due(table, state.get(UPDATED) is not None)):
        yield from _change_stream_pages(ctx, state, fetch, table, param_sets, key)
        return
    started_at = utc_now()
    outcome = FullScan()
    yield from _full_scan(ctx, fetch, table, param_sets, key, outcome, as_datetime(state.get(UPDATED)))
    if not param_sets:
        return
    # An unsettled scan resumes `updated` where it could not repair; activity restarts at its start.
    # Both are kept behind the data's own timestamps (see `RunContext.cursor_after`).
    # An incomplete scan sets no `updated` cursor: the next run scans the table in full again.
    resumes = outcome.resumes
    settled = outcome.complete and all(r is not None for r in resumes)
    state[UPDATED] = earliest(outcome.cursors) if settled else None
    for name in (LAST_CONTACTED, LAST_REPLIED, BOUNCED):
        state[name] = earliest(outcome.starts)
    state["bounced_keys"] = _key_list(outcome.bounced)
    _check_size(ctx, table, outcome)
    record_full_scan(table, started_at, outcome.consistent, outcome.rows)


def _check_size(ctx: RunContext, table: str, outcome: FullScan) -> None:
    """Without `X-Total-Count` to check against, compare a full scan with the previous one's size.

    A table that shrank to less than half is reported in the run summary (deletes can explain it; a
    server that stopped serving pages early can too).
    """
    previous = last_full_scan_rows(table)
    if outcome.counted or previous is None or outcome.rows * 2 >= previous:
        return
    ctx.client.stats.add_note(
        f"{table}: the full scan read {outcome.rows:,} rows, the previous one {previous:,}, and the API "
        "sent no X-Total-Count to check against"
    )


def _change_stream_pages(
    ctx: RunContext,
    state: MutableMapping[str, Any],
    fetch: FetchPage,
    table: str,
    param_sets: list[dict[str, Any]],
    key: KeyOf,
    extra_floor: Sequence[datetime | None] = (),
    bounced_seed: set[Hashable] | None = None,
) -> Iterator[Page]:
    """The four change streams of a later run, each over every filter set.

    1. `diff=updated>` (cursor − lag), ascending by `updated`;
    2. `sort=-last_contacted` down to (cursor − lag): sends;
    3. `sort=-last_replied` down to (cursor − lag): replies and autoreplies;
    4. `status=BOUNCED&sort=-last_contacted` down to (cursor − lookback): bounces, which arrive after
       the send they belong to.

    Each cursor becomes the API time at which its stream started (the earliest over filter sets), kept
    behind the data's own timestamps (`RunContext.cursor_after`), so whatever changes after that is read
    again next run whatever the API's clock says; a stream that could not be read consistently keeps a
    cursor no later than what it could not repair.
    """
    options = ctx.options
    since = as_datetime(state.get(UPDATED))
    updated_resumes: list[datetime | None] = list(extra_floor)
    updated_ok = True
    for params in param_sets:
        scan = AscendingScan(
            fetch,
            params,
            sort_field=UPDATED,
            value=lambda r: prospect_value(r, UPDATED),
            key=key,
            since=since - options.lag if since else None,
            per_page=options.per_page,
            on_repair=ctx.client.stats.add_repair,
            sizes=ctx.sizes,
            clock=page_time,
        )
        yield from _touching(ctx, scan, lambda r: prospect_value(r, UPDATED), since)
        complete = ctx.check_complete(table, scan.result, params)
        # an incomplete stream keeps its cursor: the next run reads the whole window again
        resume = scan.result.resume_from if complete else since
        updated_resumes.append(ctx.cursor_after(scan.result, resume, since))
        updated_ok = updated_ok and resume is not None
    new_cursors: dict[str, datetime | None] = {UPDATED: earliest(updated_resumes) if updated_ok else since}
    floor = earliest(list(extra_floor))

    recent: tuple[tuple[str, str, dict[str, str], timedelta], ...] = (
        (LAST_CONTACTED, "last_contacted", {}, options.lag),
        (LAST_REPLIED, "last_replied", {}, options.lag),
        (BOUNCED, "last_contacted", {"status": "BOUNCED"}, options.lookback),
    )
    # Bounces carry no time of their own (only the send's): remember which rows were already bounced.
    bounced_before = {_hashable(k) for k in state.get("bounced_keys") or []}
    bounced_now: set[Hashable] = set(bounced_seed or ())
    for cursor_name, sort_field, extra, window in recent:
        cursor = as_datetime(state.get(cursor_name)) or since
        if cursor is None:
            continue
        resumes: list[datetime | None] = []
        for params in param_sets:
            stream = RecentScan(
                fetch,
                {**params, **extra},
                sort_field=sort_field,
                value=lambda r, f=sort_field: prospect_value(r, f),  # type: ignore[misc]
                key=key,
                threshold=cursor - window,
                per_page=options.per_page,
                on_repair=ctx.client.stats.add_repair,
                sizes=ctx.sizes,
                clock=page_time,
            )
            if cursor_name == BOUNCED:
                yield from _touching_new_keys(ctx, stream, key, bounced_before, bounced_now)
            else:
                yield from _touching(ctx, stream, stream.value, cursor)
            resumes.append(ctx.cursor_after(stream.result, stream.result.resume_from, cursor))
        new_cursors[cursor_name] = earliest(resumes) if all(r is not None for r in resumes) else cursor
    for name, value in new_cursors.items():
        state[name] = earliest([value, floor]) if value is not None else value
    state["bounced_keys"] = _key_list(bounced_now)


def _touching(
    ctx: RunContext, pages: Iterable[Page], value: ValueOf, fresh_since: datetime | None
) -> Iterator[Page]:
    """Pass pages through, recording the campaigns of rows that changed since `fresh_since` (None: all).

    Rows re-read only because of the lag overlap (older than the previous cursor) do not count, so a run
    without changes does not refetch campaign statistics.
    """
    for page in pages:
        ctx.touch(
            field_of(row, "campaign_id")
            for row in page.rows
            if fresh_since is None or ((changed := value(row)) is not None and changed >= fresh_since)
        )
        yield page


def _touching_new_keys(
    ctx: RunContext, pages: Iterable[Page], key: KeyOf, before: set[Hashable], now: set[Hashable]
) -> Iterator[Page]:
    """Pass pages through, recording the campaigns of rows whose key was not in `before`; collect keys."""
    for page in pages:
        keys = [key(row) for row in page.rows]
        now.update(keys)
        ctx.touch(
            field_of(row, "campaign_id") for row, k in zip(page.rows, keys, strict=True) if k not in before
        )
        yield page


def _collect_bounced(
    pages: Iterable[Page], key: KeyOf, into: set[Hashable], lookback: timedelta
) -> Iterator[Page]:
    """Pass pages through, collecting the keys of rows the next run's bounce stream will see again."""
    for page in pages:
        since = page.answer.server_time - lookback
        into.update(
            key(row)
            for row in page.rows
            if field_of(row, "status") == "BOUNCED"
            and (sent := prospect_value(row, LAST_CONTACTED)) is not None
            and sent >= since
        )
        yield page


def _hashable(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value


def _key_list(keys: Iterable[Hashable]) -> list[Any]:
    """Keys as JSON-friendly state values (tuples become lists), in a stable order."""
    return sorted(
        (list(map(_state_part, k)) if isinstance(k, tuple) else _state_part(k) for k in keys), key=str
    )


def _state_part(value: Any) -> Any:
    """A key part as dlt can write it to state: an integer beyond 64 bits as its digits.

    dlt writes state with orjson, which takes no such integer; no row can be loaded under such an id.
    """
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)
    return value


# -- opens and clicks ---------------------------------------------------------------------------------


@dlt.resource(
    name=settings.PROSPECT_OPENS,
    **_merge_hints(PROSPECT_OPENS_COLUMNS, ["prospect_id", "campaign_id", "opened_at"]),
)
def prospect_opens(ctx: RunContext) -> Iterator[list[Row]]:
    """Last open per (prospect, campaign) as observed each run: `activity=OPENED`, `diff=last_opened>`."""
    ctx.begin(settings.PROSPECT_OPENS)
    yield from _activity_rows(ctx, settings.PROSPECT_OPENS, "OPENED", "last_opened", membership_key)


@dlt.resource(
    name=settings.PROSPECT_CLICKS,
    **_merge_hints(PROSPECT_CLICKS_COLUMNS, ["prospect_id", "campaign_id", "url", "clicked_at"]),
)
def prospect_clicks(ctx: RunContext) -> Iterator[list[Row]]:
    """Last click per (prospect, campaign, url) seen each run: `activity=CLICKED`, `diff=last_clicked>`."""
    ctx.begin(settings.PROSPECT_CLICKS)
    yield from _activity_rows(ctx, settings.PROSPECT_CLICKS, "CLICKED", "last_clicked", click_key)


def _activity_rows(
    ctx: RunContext, table: str, activity: str, sort_field: str, key: KeyOf
) -> Iterator[list[Row]]:
    state = dlt.current.resource_state()
    fetch = ctx.fetcher(table)
    ids = ctx.campaign_ids(table)
    known = set(state.get("campaign_ids") or [])
    cursor = as_datetime(state.get(sort_field))
    if cursor is None:
        known = set()
    since = cursor - ctx.options.lag if cursor is not None else None
    groups = (
        (None, [i for i in ids if i not in known]),
        (since, [i for i in ids if i in known]),
    )
    normalise = normalise_open if activity == "OPENED" else normalise_click
    column = "opened_at" if activity == "OPENED" else "clicked_at"
    results: list[ScanResult] = []
    complete = True
    for window, group in groups:
        for chunk in chunk_ids(group):
            scan = AscendingScan(
                fetch,
                {"activity": activity, "campaigns_id": join_ids(chunk)},
                sort_field=sort_field,
                value=lambda r: prospect_value(r, sort_field),
                key=key,
                since=window,
                per_page=ctx.options.per_page,
                on_repair=ctx.client.stats.add_repair,
                sizes=ctx.sizes,
                clock=page_time,
            )
            for page in scan:
                rows = [r for r in (normalise(raw, page.answer.fetched_at) for raw in page.rows) if r]
                if rows:
                    fresh = (
                        rows if window is None or cursor is None else [r for r in rows if r[column] >= cursor]
                    )
                    ctx.touch(row["campaign_id"] for row in fresh)
                    ctx.client.stats.add_rows(table, len(rows))
                    yield rows
            complete = ctx.check_complete(table, scan.result, {"activity": activity}) and complete
            results.append(scan.result)
    resumes = [r.resume_from for r in results]
    if resumes:
        if not complete:
            state[sort_field] = cursor  # read the whole window again next run (None: in full)
        elif all(r is not None for r in resumes):
            # kept behind the data's own timestamps; a scan that read nothing bounds nothing
            state[sort_field] = earliest([ctx.cursor_after(r, r.resume_from, cursor) for r in results])
        elif cursor is None:
            state[sort_field] = None
    # campaigns first read in this run are read in full again next run unless every scan completed
    state["campaign_ids"] = ids if complete else [i for i in ids if i in known]


# -- campaign stats -----------------------------------------------------------------------------------


@dlt.resource(
    name=settings.CAMPAIGN_STATS, **_merge_hints(CAMPAIGN_STATS_COLUMNS, ["campaign_id", "captured_at"])
)
def campaign_stats(ctx: RunContext) -> Iterator[list[Row]]:
    """Vendor statistics, one request per campaign (`campaign_list?id=<id>` → `stats`), snapshot per run.

    Fetched for campaigns that are new, changed, touched by membership/open/click changes in this run,
    or whose last snapshot is older than `stats_max_age_hours`.
    """
    ctx.begin(settings.CAMPAIGN_STATS)
    state = dlt.current.resource_state()
    captured: MutableMapping[str, Any] = state.setdefault("captured", {})
    ids = ctx.campaign_ids(settings.CAMPAIGN_STATS)
    now = utc_now()
    max_age = ctx.options.stats_max_age_hours * 3600
    touched = ctx.stats_due()
    due = [
        campaign_id
        for campaign_id in ids
        if campaign_id in ctx.changed_campaigns
        or campaign_id in touched
        or (last := as_datetime(captured.get(str(campaign_id)))) is None
        or (now - last).total_seconds() >= max_age
    ]
    for campaign_id in due:
        ctx.stats_read(campaign_id)
        raw_rows, answer = ctx.client.campaign_list(settings.CAMPAIGN_STATS, {"id": campaign_id})
        match = [r for r in raw_rows if int(r.get("id", -1)) == campaign_id]
        stats = match[0].get("stats") if match else None
        if not isinstance(stats, Mapping):
            logger.info("Campaign %s: no stats in the answer", campaign_id)
            continue
        captured[str(campaign_id)] = ctx.run_started
        ctx.client.stats.add_rows(settings.CAMPAIGN_STATS, 1)
        yield [normalise_stats(campaign_id, stats, ctx.run_started, answer.fetched_at)]
    listed = {str(i) for i in ids}
    for stale in [key for key in captured if key not in listed]:
        del captured[stale]
    for gone in ctx.stats_due() - set(ids):
        ctx.stats_read(gone)
