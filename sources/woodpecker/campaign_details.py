"""The campaigns resource's v2 details and its three tables: campaigns, steps and A/B versions.

v2 details (`GET /rest/v2/campaigns/{id}`) are read for campaigns that are new or changed, and for every
campaign when a refresh is due; a campaign the v2 API does not describe gets a status instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import dlt

from sources import woodpecker_tables as tables

from . import settings
from .errors import ApiError
from .helpers import RunContext, as_datetime, utc_now
from .normalise import campaign_details_fields, flatten_steps
from .paging import Row
from .schema import column_hints

logger = logging.getLogger(__name__)


def details_refresh_due(ctx: RunContext, state: Mapping[str, Any]) -> bool:
    """Whether every campaign's v2 details are read again this run.

    Args:
        ctx: The run's shared context (`reconcile` and its schedule).
        state: The `campaigns` resource's state (`details_refreshed_at`).

    Returns:
        `reconcile` when it is set, else whether `reconcile_every_days` passed since the last refresh.
    """
    if ctx.options.reconcile is not None:
        return ctx.options.reconcile
    last = as_datetime(state.get("details_refreshed_at"))
    if last is None:
        return True
    return (utc_now() - last).total_seconds() >= ctx.options.reconcile_every_days * 86400


def read_campaign_details(ctx: RunContext, campaign_id: int) -> tuple[dict[str, Any], list[Row], list[Row]]:
    """v2 fields for the campaign row plus step and version rows; 404/409 become a status, not an error.

    Args:
        ctx: The run's shared context.
        campaign_id: The campaign read.

    Returns:
        The campaign row's v2 fields, its step rows and its version rows.
    """
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


# The three tables the `campaigns` resource writes, by name.
CAMPAIGN_TABLES = {
    t.name: t for t in (tables.CAMPAIGNS, tables.CAMPAIGN_STEPS, tables.CAMPAIGN_STEP_VERSIONS)
}


def campaign_table_rows(table: str, rows: list[Row]) -> Any:
    """Rows for one of the three tables the `campaigns` resource writes, with that table's hints.

    Steps and versions carry `merge_key="campaign_id"`: a re-read campaign's steps replace its old ones.

    Args:
        table: `campaigns`, `campaign_steps` or `campaign_step_versions`.
        rows: The table's rows.

    Returns:
        The rows marked with the table's dlt hints.
    """
    declared = CAMPAIGN_TABLES[table]
    return dlt.mark.with_hints(
        rows,
        dlt.mark.make_hints(
            table_name=table,
            write_disposition="merge",
            primary_key=list(declared.primary_key),
            merge_key=declared.merge_key or "",
            columns=column_hints(declared),
            file_format="parquet",
        ),
        create_table_variant=True,
    )
