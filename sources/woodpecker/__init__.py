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
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import closing
from typing import Any

import dlt
from dlt.sources import DltResource

from sources import woodpecker_tables as tables

from . import settings
from .arrow_batches import JSON_AS_ARROW_TEXT_FILTER, typed_batches
from .campaign_details import campaign_table_rows, details_refresh_due, read_campaign_details
from .chunks import LoadChunks
from .client import WoodpeckerClient
from .errors import ConfigurationError
from .helpers import (
    RunContext,
    SourceOptions,
    as_datetime,
    click_key,
    membership_key,
    prospect_key,
    record_full_scan,
    row_hash,
    utc_now,
)
from .normalise import normalise_campaign, normalise_stats
from .paging import Row
from .progress import RunStats
from .read_ahead import read_ahead
from .scans import activity_rows, membership_pages, prospect_pages
from .schema import merge_hints
from .webhook_events import webhook_events_resource

__all__ = ["woodpecker_source"]

logger = logging.getLogger(__name__)


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
    chunk_requests: int = settings.DEFAULT_CHUNK_REQUESTS,
    run_stats: RunStats | None = None,
    chunks: LoadChunks | None = None,
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
        chunk_requests: In a chunked load (`chunks`), the requests a chunk makes at least before its
            rows and scan positions are committed (`sources.woodpecker.chunk_requests`).
        run_stats: Counters for progress output; a private one is used when None.
        chunks: The chunked load this source is one chunk of (`pipelines/load_run.py`); None: the
            source reads everything in one pipeline run.

    Returns:
        The resources, in the order they run: campaigns, prospects, campaign_prospects, prospect_opens,
        prospect_clicks, campaign_stats, and webhook_events when a spool is configured.
    """
    if not 1 <= per_page <= settings.MAX_PER_PAGE:
        raise ConfigurationError(f"per_page must be between 1 and {settings.MAX_PER_PAGE}, got {per_page}.")
    if chunk_requests < 1:
        raise ConfigurationError(f"chunk_requests must be at least 1, got {chunk_requests}.")
    stats = run_stats if run_stats is not None else RunStats()
    if chunks is not None and chunks.context is not None:
        # a later chunk of the same load: the context (client, campaign list, changes seen) goes on
        return _resources(chunks.context, webhook_spool)
    logging.getLogger("dlt").addFilter(JSON_AS_ARROW_TEXT_FILTER)  # adding the same filter twice is a no-op
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
    ctx = RunContext(client, options, chunks=chunks)
    if chunks is not None:
        chunks.context = ctx
        chunks.min_requests = chunk_requests
    return _resources(ctx, webhook_spool)


def _resources(ctx: RunContext, webhook_spool: str | None) -> Sequence[DltResource]:
    return (
        campaigns(ctx),
        prospects(ctx),
        campaign_prospects(ctx),
        prospect_opens(ctx),
        prospect_clicks(ctx),
        campaign_stats(ctx),
        *webhook_events_resource(webhook_spool),
    )


# -- campaigns ----------------------------------------------------------------------------------------


@dlt.resource(
    name=settings.CAMPAIGNS,
    write_disposition="merge",
    primary_key=list(tables.CAMPAIGNS.primary_key),
    file_format="parquet",
    max_table_nesting=0,
)
def campaigns(ctx: RunContext) -> Iterator[Any]:
    """Every campaign of `campaign_list`, enriched with v2 details; also its steps and A/B versions.

    v2 details are read for campaigns that are new or whose v1 row changed since the last run (a hash
    per campaign in resource state), and for all campaigns on reconcile runs.
    """
    if ctx.chunks is not None and settings.CAMPAIGNS in ctx.chunks.finished:
        return  # read by an earlier chunk of this load
    ctx.begin(settings.CAMPAIGNS)
    state = dlt.current.resource_state()
    known: MutableMapping[str, Any] = state.setdefault("details", {})
    refresh_all = details_refresh_due(ctx, state)
    raw_rows, answer = ctx.campaign_list(settings.CAMPAIGNS)
    fingerprints = [row_hash({k: v for k, v in raw.items() if k != "stats"}) for raw in raw_rows]
    read_details: list[bool] = []
    for raw, fingerprint in zip(raw_rows, fingerprints, strict=True):
        campaign_id = int(raw["id"])
        changed = (known.get(str(campaign_id)) or {}).get("hash") != fingerprint  # new, or its v1 row changed
        if changed:
            ctx.changed_campaigns.add(campaign_id)
        read_details.append(changed or refresh_all)
    # The v2 details due are requested ahead, one at a time, while the campaigns before are processed.
    due = [int(raw["id"]) for raw, read in zip(raw_rows, read_details, strict=True) if read]
    details = read_ahead(due, lambda campaign_id: read_campaign_details(ctx, campaign_id))
    rows: list[Row] = []
    with closing(details):
        for raw, fingerprint, read in zip(raw_rows, fingerprints, read_details, strict=True):
            campaign_id = int(raw["id"])
            previous: Mapping[str, Any] = known.get(str(campaign_id)) or {}
            if read:
                _, (fields, steps, versions) = next(details)
                known[str(campaign_id)] = {"hash": fingerprint, "fields": fields}
                if steps:
                    yield campaign_table_rows(settings.CAMPAIGN_STEPS, steps)
                if versions:
                    yield campaign_table_rows(settings.CAMPAIGN_STEP_VERSIONS, versions)
            else:
                fields = previous.get("fields") or {}
            rows.append({**normalise_campaign(raw, answer.fetched_at), **fields})
    listed = {str(int(raw["id"])) for raw in raw_rows}
    for stale in [key for key in known if key not in listed]:
        del known[stale]
    if rows:
        ctx.client.stats.add_rows(settings.CAMPAIGNS, len(rows))
        yield campaign_table_rows(settings.CAMPAIGNS, rows)
    if refresh_all:
        state["details_refreshed_at"] = answer.fetched_at
    # the list may have been read by another resource earlier in the run: its rows carry that fetch time
    record_full_scan(settings.CAMPAIGNS, answer.fetched_at, consistent=True)
    if ctx.chunks is not None:
        ctx.chunks.finished.add(settings.CAMPAIGNS)


# -- prospects ----------------------------------------------------------------------------------------


@dlt.resource(name=settings.PROSPECTS, **merge_hints(tables.PROSPECTS))
def prospects(ctx: RunContext) -> Iterator[Any]:
    """Prospects: a full scan on the first and on reconcile runs, else the change streams."""
    ctx.begin(settings.PROSPECTS)
    fetch = ctx.fetcher(settings.PROSPECTS)
    pages = ctx.pages(
        settings.PROSPECTS,
        lambda state: prospect_pages(ctx, state, fetch, settings.PROSPECTS, [{}], prospect_key),
    )
    yield from typed_batches(ctx.client.stats, pages, settings.PROSPECTS)


# -- campaign memberships -----------------------------------------------------------------------------


@dlt.resource(name=settings.CAMPAIGN_PROSPECTS, **merge_hints(tables.CAMPAIGN_PROSPECTS))
def campaign_prospects(ctx: RunContext) -> Iterator[Any]:
    """Campaign memberships from `prospects?campaigns_id=<all campaigns>`, key (campaign_id, prospect_id).

    Campaigns new since the last run are read in full; the others through the change streams.
    """
    ctx.begin(settings.CAMPAIGN_PROSPECTS)
    fetch = ctx.fetcher(settings.CAMPAIGN_PROSPECTS)
    pages = ctx.pages(
        settings.CAMPAIGN_PROSPECTS,
        lambda state: membership_pages(
            ctx, state, fetch, settings.CAMPAIGN_PROSPECTS, ctx.campaign_ids(settings.CAMPAIGN_PROSPECTS)
        ),
    )
    yield from typed_batches(ctx.client.stats, pages, settings.CAMPAIGN_PROSPECTS)


# -- opens and clicks ---------------------------------------------------------------------------------


@dlt.resource(name=settings.PROSPECT_OPENS, **merge_hints(tables.PROSPECT_OPENS))
def prospect_opens(ctx: RunContext) -> Iterator[list[Row]]:
    """Last open per (prospect, campaign) as observed each run: `activity=OPENED`, `diff=last_opened>`."""
    ctx.begin(settings.PROSPECT_OPENS)
    yield from ctx.pages(
        settings.PROSPECT_OPENS,
        lambda state: activity_rows(
            ctx, state, settings.PROSPECT_OPENS, "OPENED", "last_opened", membership_key
        ),
    )


@dlt.resource(name=settings.PROSPECT_CLICKS, **merge_hints(tables.PROSPECT_CLICKS))
def prospect_clicks(ctx: RunContext) -> Iterator[list[Row]]:
    """Last click per (prospect, campaign, url) seen each run: `activity=CLICKED`, `diff=last_clicked>`."""
    ctx.begin(settings.PROSPECT_CLICKS)
    yield from ctx.pages(
        settings.PROSPECT_CLICKS,
        lambda state: activity_rows(
            ctx, state, settings.PROSPECT_CLICKS, "CLICKED", "last_clicked", click_key
        ),
    )


# -- campaign stats -----------------------------------------------------------------------------------


@dlt.resource(name=settings.CAMPAIGN_STATS, **merge_hints(tables.CAMPAIGN_STATS))
def campaign_stats(ctx: RunContext) -> Iterator[list[Row]]:
    """Vendor statistics, one request per campaign (`campaign_list?id=<id>` → `stats`), snapshot per run.

    Fetched for campaigns that are new, changed, touched by membership/open/click changes in this run,
    or whose last snapshot is older than `stats_max_age_hours`. In a chunked load they are read once,
    in the chunk in which every other resource has finished.
    """
    if ctx.chunks is not None and (ctx.chunks.paused or settings.CAMPAIGN_STATS in ctx.chunks.finished):
        return
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
    # Requested ahead, one at a time, while the answer before is processed.
    answers = read_ahead(
        due, lambda campaign_id: ctx.client.campaign_list(settings.CAMPAIGN_STATS, {"id": campaign_id})
    )
    with closing(answers):
        for campaign_id, (raw_rows, answer) in answers:
            ctx.stats_read(campaign_id)
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
    if ctx.chunks is not None:
        ctx.chunks.finished.add(settings.CAMPAIGN_STATS)
