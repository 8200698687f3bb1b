"""Full scans, change streams and activity scans of `GET /rest/v1/prospects`, and their cursors.

The `prospects`, `campaign_prospects`, `prospect_opens` and `prospect_clicks` resources read pages
through these functions. A table is read in full on its first run, on reconcile runs and by schedule;
otherwise through four change streams (`updated`, `last_contacted`, `last_replied`, bounces) whose
cursors live in the resource's state. Each cursor is kept behind the data's own timestamps
(`RunContext.cursor_after`); a scan that could not be read consistently keeps a cursor no later than what
it could not repair. docs/source.md describes the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .helpers import (
    RunContext,
    as_datetime,
    chunk_ids,
    earliest,
    field_of,
    join_ids,
    last_full_scan_rows,
    membership_key,
    page_time,
    record_full_scan,
    utc_now,
)
from .normalise import normalise_click, normalise_open, prospect_value
from .paging import (
    AscendingScan,
    FetchPage,
    KeyOf,
    Page,
    RecentScan,
    ResumePoint,
    Row,
    ScanResult,
    ValueOf,
)

logger = logging.getLogger(__name__)

# Cursor names kept in resource state (aware UTC datetimes).
UPDATED = "updated"
LAST_CONTACTED = "last_contacted"
LAST_REPLIED = "last_replied"
BOUNCED = "bounced"
CHANGE_CURSORS = (UPDATED, LAST_CONTACTED, LAST_REPLIED, BOUNCED)
# Resource-state key of the position a chunked load committed inside a series of scans.
SCAN_POSITION = "scan"


def ascending_scan(
    ctx: RunContext,
    fetch: FetchPage,
    params: dict[str, Any],
    sort_field: str,
    key: KeyOf,
    since: datetime | None,
    resume: ResumePoint | None = None,
) -> AscendingScan:
    """A scan of one filter set, ascending by `sort_field`, with the run's page size and repair counter.

    Args:
        ctx: The run's shared context (options, statistics, learned page sizes).
        fetch: Reads one page of `GET /rest/v1/prospects`.
        params: The filter set (`campaigns_id`, `activity`, ...).
        sort_field: The time field the scan sorts and windows by (`updated`, `last_opened`, ...).
        key: Identity of a row.
        since: Lower end of the `diff` window (None: every row).
        resume: Where an interrupted scan of the same filters stopped (see `AscendingScan`).

    Returns:
        The scan, not yet started.
    """
    return AscendingScan(
        fetch,
        params,
        sort_field=sort_field,
        value=lambda r: prospect_value(r, sort_field),
        key=key,
        since=since,
        per_page=ctx.options.per_page,
        on_repair=ctx.client.stats.add_repair,
        sizes=ctx.sizes,
        clock=page_time,
        resume=resume,
    )


def _saved_position(
    state: MutableMapping[str, Any], kind: str, series: list[Any]
) -> Mapping[str, Any] | None:
    """The position a chunked load committed inside this very series of scans (None: start afresh).

    A series whose filter sets differ (campaigns added or removed since) starts again from its start.
    """
    saved = state.get(SCAN_POSITION)
    if isinstance(saved, Mapping) and saved.get("kind") == kind and saved.get("series") == series:
        return saved
    return None


def prospect_pages(
    ctx: RunContext,
    state: MutableMapping[str, Any],
    fetch: FetchPage,
    table: str,
    param_sets: list[dict[str, Any]],
    key: KeyOf,
    force_full: bool = False,
) -> Iterator[Page]:
    """A full scan (first run, reconcile) or the change streams, over one or more filter sets.

    Args:
        ctx: The run's shared context.
        state: The resource's state, where the cursors are kept.
        fetch: Reads one page of `GET /rest/v1/prospects`.
        table: The table loaded.
        param_sets: The filter sets, each scanned on its own.
        key: Identity of a row.
        force_full: Scan in full whatever the cursors and the schedule say.

    Yields:
        Pages of raw rows.
    """
    if not (force_full or ctx.full_scan_due(table, state.get(UPDATED) is not None)):
        state.pop(SCAN_POSITION, None)
        yield from _change_stream_pages(ctx, state, fetch, table, param_sets, key)
        return
    outcome = FullScan()
    yield from _full_scan(
        ctx, state, fetch, table, param_sets, key, outcome, as_datetime(state.get(UPDATED)), "full"
    )
    started_at = outcome.started_at
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


def membership_pages(
    ctx: RunContext, state: MutableMapping[str, Any], fetch: FetchPage, table: str, ids: list[int]
) -> Iterator[Page]:
    """Pages of memberships: full scans for campaigns not read before, change streams for the rest.

    Args:
        ctx: The run's shared context.
        state: The resource's state, where the cursors and the campaigns read before are kept.
        fetch: Reads one page of `GET /rest/v1/prospects`.
        table: The table loaded.
        ids: Every campaign the account lists this run.

    Yields:
        Pages of raw rows.
    """
    param_sets = [{"campaigns_id": join_ids(chunk)} for chunk in chunk_ids(ids)]
    known_after = ids
    if ctx.full_scan_due(table, state.get(UPDATED) is not None):
        yield from prospect_pages(ctx, state, fetch, table, param_sets, membership_key, force_full=True)
    else:
        known = set(state.get("campaign_ids") or [])
        new_ids = [i for i in ids if i not in known]
        old_ids = [i for i in ids if i in known]
        new_campaigns = FullScan()
        new_params = [{"campaigns_id": join_ids(chunk)} for chunk in chunk_ids(new_ids)]
        previous = as_datetime(state.get(UPDATED))
        yield from _full_scan(
            ctx, state, fetch, table, new_params, membership_key, new_campaigns, previous, "new_campaigns"
        )
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
        missing: Rows the API counted that the scans could not read.
        started_at: Local UTC time the first scan began (kept when a killed load resumes the series).
    """

    consistent: bool = True
    resumes: list[datetime | None] = field(default_factory=list)
    cursors: list[datetime | None] = field(default_factory=list)
    starts: list[datetime | None] = field(default_factory=list)
    bounced: set[Hashable] = field(default_factory=set)
    rows: int = 0
    counted: bool = True
    complete: bool = True
    missing: int = 0
    started_at: datetime = field(default_factory=utc_now)

    def to_state(self) -> dict[str, Any]:
        """What the scans finished so far established, as a resource-state value."""
        return {
            "consistent": self.consistent,
            "resumes": list(self.resumes),
            "cursors": list(self.cursors),
            "starts": list(self.starts),
            "bounced": _key_list(self.bounced),
            "rows": self.rows,
            "counted": self.counted,
            "complete": self.complete,
            "missing": self.missing,
            "started_at": self.started_at,
        }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take back what `to_state` saved."""
        self.consistent = bool(saved.get("consistent"))
        self.resumes = [as_datetime(v) for v in saved.get("resumes") or []]
        self.cursors = [as_datetime(v) for v in saved.get("cursors") or []]
        self.starts = [as_datetime(v) for v in saved.get("starts") or []]
        self.bounced = {_hashable(k) for k in saved.get("bounced") or []}
        self.rows = int(saved.get("rows") or 0)
        self.counted = bool(saved.get("counted"))
        self.complete = bool(saved.get("complete"))
        self.missing = int(saved.get("missing") or 0)
        self.started_at = as_datetime(saved.get("started_at")) or self.started_at


def _note_resumed(ctx: RunContext, table: str) -> None:
    """Say in the run summary that `table`'s scan went on from a killed load's last committed chunk."""
    ctx.client.stats.resumed.append(table)
    ctx.client.stats.add_note(f"{table}: resumed the scan an interrupted load had committed in part")
    logger.info("%s: resuming the scan a previous load committed part of", table)


def _full_scan(
    ctx: RunContext,
    state: MutableMapping[str, Any],
    fetch: FetchPage,
    table: str,
    param_sets: list[dict[str, Any]],
    key: KeyOf,
    outcome: FullScan,
    previous: datetime | None,
    kind: str,
) -> Iterator[Page]:
    """Every row of each filter set, ascending by `updated`; results are recorded in `outcome`.

    Each scan is checked against the API's count (`RunContext.check_complete`); `previous` (the
    `updated` cursor before this run) bounds the next cursors together with the data read.

    In a chunked load, a chunk that pauses the series writes its position to `state` (which filter
    set, where in its scan, what the finished scans established); a later load goes on from there
    when the series is the same (`kind` and filter sets). The position is removed when the series ends.
    """
    saved = _saved_position(state, kind, param_sets)
    first, point = 0, None
    if saved is not None:
        outcome.restore(saved.get("outcome") or {})
        first, point = int(saved.get("index") or 0), ResumePoint.from_state(saved.get("at"))
        ctx.restore_shortfall(table, outcome.missing)
        _note_resumed(ctx, table)
    current: list[Any] = [first, None]  # the filter set being read and its scan

    def save() -> None:
        scan: AscendingScan | None = current[1]
        at = scan.checkpoint() if scan is not None else point
        state[SCAN_POSITION] = {
            "kind": kind,
            "series": param_sets,
            "index": current[0],
            "outcome": outcome.to_state(),
            "at": at.to_state() if at is not None else None,
        }

    ctx.on_pause(table, save)
    for index in range(first, len(param_sets)):
        params = param_sets[index]
        scan = ascending_scan(
            ctx, fetch, params, UPDATED, key, since=None, resume=point if index == first else None
        )
        current[:] = [index, scan]
        # Only rows of campaign lists name a campaign whose statistics the change concerns.
        pages = _touching(ctx, scan, scan.value, None) if "campaigns_id" in params else scan
        yield from _collect_bounced(pages, key, outcome.bounced, ctx.options.lookback)
        result = scan.result
        complete = ctx.check_complete(table, result, params)
        if not complete and result.promised is not None:
            outcome.missing += result.promised - result.served
        outcome.complete = outcome.complete and complete
        outcome.consistent = outcome.consistent and result.consistent and complete
        outcome.resumes.append(result.resume_from)
        outcome.cursors.append(ctx.cursor_after(result, result.resume_from, previous))
        outcome.starts.append(ctx.cursor_after(result, result.started, previous))
        outcome.rows += result.rows
        outcome.counted = outcome.counted and result.promised is not None
        current[:] = [index + 1, None]
    ctx.on_pause(table, None)  # the series is over: a later pause (change streams) saves nothing
    state.pop(SCAN_POSITION, None)


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
        scan = ascending_scan(ctx, fetch, params, UPDATED, key, since=since - options.lag if since else None)
        yield from _touching(ctx, scan, scan.value, since)
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


def activity_rows(
    ctx: RunContext,
    state: MutableMapping[str, Any],
    table: str,
    activity: str,
    sort_field: str,
    key: KeyOf,
) -> Iterator[list[Row]]:
    """Open or click rows of every listed campaign, with the `sort_field` cursor in resource state.

    Campaigns not read before are read in full; the others from (cursor − lag). Campaigns whose rows
    are newer than the previous cursor are recorded for `campaign_stats`. In a chunked load a paused
    series of scans saves its position as `_full_scan` does, and a later load goes on from there.

    Args:
        ctx: The run's shared context.
        state: The resource's state, where the cursor is kept.
        table: The table loaded (`prospect_opens` or `prospect_clicks`).
        activity: `OPENED` or `CLICKED`.
        sort_field: The API's time field of the activity and the cursor's name (`last_opened`, ...).
        key: Identity of a row.

    Yields:
        Normalised rows, one list per page.
    """
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
    series = [
        (window, {"activity": activity, "campaigns_id": join_ids(chunk)})
        for window, group in groups
        for chunk in chunk_ids(group)
    ]
    described = [[window, params] for window, params in series]
    normalise = normalise_open if activity == "OPENED" else normalise_click
    column = "opened_at" if activity == "OPENED" else "clicked_at"
    results: list[ScanResult] = []
    complete, missing, first, point = True, 0, 0, None
    saved = _saved_position(state, "activity", described)
    if saved is not None:
        results = [ScanResult.from_state(r) for r in saved.get("results") or []]
        complete, missing = bool(saved.get("complete")), int(saved.get("missing") or 0)
        first, point = int(saved.get("index") or 0), ResumePoint.from_state(saved.get("at"))
        ctx.restore_shortfall(table, missing)
        _note_resumed(ctx, table)
    current: list[Any] = [first, None]

    def save() -> None:
        scan: AscendingScan | None = current[1]
        at = scan.checkpoint() if scan is not None else point
        state[SCAN_POSITION] = {
            "kind": "activity",
            "series": described,
            "index": current[0],
            "results": [r.to_state() for r in results],
            "complete": complete,
            "missing": missing,
            "at": at.to_state() if at is not None else None,
        }

    ctx.on_pause(table, save)
    for index in range(first, len(series)):
        window, params = series[index]
        resume = point if index == first else None
        scan = ascending_scan(ctx, fetch, params, sort_field, key, since=window, resume=resume)
        current[:] = [index, scan]
        for page in scan:
            rows = [r for r in (normalise(raw, page.answer.fetched_at) for raw in page.rows) if r]
            if rows:
                fresh = rows if window is None or cursor is None else [r for r in rows if r[column] >= cursor]
                ctx.touch(row["campaign_id"] for row in fresh)
                ctx.client.stats.add_rows(table, len(rows))
                yield rows
        done = ctx.check_complete(table, scan.result, {"activity": activity})
        if not done and scan.result.promised is not None:
            missing += scan.result.promised - scan.result.served
        complete = done and complete
        results.append(scan.result)
        current[:] = [index + 1, None]
    ctx.on_pause(table, None)
    state.pop(SCAN_POSITION, None)
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
