"""Column hints of every table (the contract in docs/tables.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

from . import settings
from .columnar import Column, TableSpec


def _cols(**types: str) -> TTableSchemaColumns:
    columns: TTableSchemaColumns = {}
    for name, data_type in types.items():
        column: TColumnSchema = {"name": name, "data_type": data_type, "nullable": True}  # type: ignore[typeddict-item]
        columns[name] = column
    return columns


def _bookkeeping(deleted_at: bool) -> TTableSchemaColumns:
    columns: TTableSchemaColumns = {
        settings.FETCHED_AT: {
            "name": settings.FETCHED_AT,
            "data_type": "timestamp",
            "nullable": False,
            "dedup_sort": "desc",
        }
    }
    if deleted_at:
        columns[settings.DELETED_AT] = {
            "name": settings.DELETED_AT,
            "data_type": "timestamp",
            "nullable": True,
        }
    return columns


PROSPECT_TEXT = ("email", *settings.PROSPECT_TEXT_FIELDS, "status", *settings.PROSPECT_SNIPPET_FIELDS)

PROSPECTS_SPEC = TableSpec(
    table=settings.PROSPECTS,
    columns=(
        Column("id", "int"),
        Column("organization_id", "int"),
        *(Column(name, "text") for name in PROSPECT_TEXT),
        Column("last_contacted", "timestamp"),
        Column("last_replied", "timestamp", (settings.LAST_REPLIED_API_KEY, "last_replied")),
        Column("updated", "timestamp"),
        Column("encrypted", "bool"),
        Column("snippet_labels", "json"),
    ),
    key=("id",),
    ignored=frozenset(settings.LEGACY_SNIPPET_FIELDS),
)

PROSPECTS_COLUMNS: TTableSchemaColumns = {
    **_cols(id="bigint", organization_id="bigint"),
    **_cols(**dict.fromkeys(PROSPECT_TEXT, "text")),
    **_cols(last_contacted="timestamp", last_replied="timestamp", updated="timestamp"),
    **_cols(encrypted="bool", snippet_labels="json"),
    **_cols(**{settings.UNPARSED: "json"}),
    **_bookkeeping(deleted_at=True),
}

CAMPAIGNS_COLUMNS: TTableSchemaColumns = {
    **_cols(id="bigint", name="text", status="text", from_name="text", from_email="text"),
    **_cols(created="timestamp", from_names="json", from_emails="json", gdpr_unsubscribe="bool"),
    **_cols(folder_name="text", folder_id="bigint", per_day="bigint", bcc="text", cc="text", error="text"),
    **_cols(timezone="text", prospect_timezone="bool", daily_enroll="bigint", list_unsubscribe="bool"),
    **_cols(email_account_ids="json", details_status="text", details_error="text"),
    **_bookkeeping(deleted_at=True),
}

CAMPAIGN_STEPS_COLUMNS: TTableSchemaColumns = {
    **_cols(campaign_id="bigint", step_id="text", step_number="bigint", type="text"),
    **_cols(followup_after_range="text", followup_after_value="bigint", wait_hours="bigint"),
    **_cols(delivery_time="json", sending_days="text", version_count="bigint"),
    **_bookkeeping(deleted_at=False),
}

CAMPAIGN_STEP_VERSIONS_COLUMNS: TTableSchemaColumns = {
    **_cols(campaign_id="bigint", step_id="text", step_number="bigint", version_id="text", version="text"),
    **_cols(subject="text", message="text", signature="text", track_opens="bool"),
    **_bookkeeping(deleted_at=False),
}

# Membership rows also carry the prospect's own fields; those are loaded by `prospects`, not here.
CAMPAIGN_PROSPECTS_SPEC = TableSpec(
    table=settings.CAMPAIGN_PROSPECTS,
    columns=(
        Column("campaign_id", "int"),
        Column("prospect_id", "int", ("id",)),
        Column("status", "text"),
        Column("sent_mails", "int"),
        Column("interested", "interest"),
        Column("campaign_email", "text"),
        Column("campaign_name", "text"),
    ),
    key=("campaign_id", "prospect_id"),
    keep_unknown=False,
)

CAMPAIGN_PROSPECTS_COLUMNS: TTableSchemaColumns = {
    **_cols(campaign_id="bigint", prospect_id="bigint", status="text", sent_mails="bigint"),
    **_cols(interested="text", campaign_email="text", campaign_name="text"),
    **_cols(**{settings.UNPARSED: "json"}),
    **_bookkeeping(deleted_at=True),
}

# Records that could not be loaded into their table (no usable primary key), kept whole, once per
# distinct record (key: table_name, record_hash); `record` is the JSON text as the API sent it.
REJECTED_RECORDS_COLUMNS: TTableSchemaColumns = {
    **_cols(table_name="text", record_hash="text", reason="text", record="text"),
    **_bookkeeping(deleted_at=False),
}

STATS_COUNTERS = (
    "prospects",
    "sent",
    "delivery",
    "opened",
    "clicked",
    "replied",
    "autoreplied",
    "bounced",
    "invalid",
    "optout",
    "interested",
    "not_interested",
    "maybe_later",
    "queue",
    "to_check",
)

CAMPAIGN_STATS_COLUMNS: TTableSchemaColumns = {
    **_cols(campaign_id="bigint", captured_at="timestamp"),
    **_cols(**dict.fromkeys(STATS_COUNTERS, "bigint")),
    **_bookkeeping(deleted_at=False),
}

PROSPECT_OPENS_COLUMNS: TTableSchemaColumns = {
    **_cols(prospect_id="bigint", campaign_id="bigint", opened_at="timestamp"),
    **_bookkeeping(deleted_at=False),
}

PROSPECT_CLICKS_COLUMNS: TTableSchemaColumns = {
    **_cols(prospect_id="bigint", campaign_id="bigint", url="text", clicked_at="timestamp"),
    **_bookkeeping(deleted_at=False),
}

WEBHOOK_EVENTS_COLUMNS: TTableSchemaColumns = {
    **_cols(event_id="text", event="text", prospect_id="bigint", campaign_id="bigint", step="bigint"),
    **_cols(occurred_at="timestamp", email="text", url="text", firm_id="bigint"),
    **_cols(received_at="timestamp", payload="json"),
}


def merge_hints(columns: TTableSchemaColumns, primary_key: Sequence[str]) -> dict[str, Any]:
    """`dlt.resource` arguments of a table that merges on `primary_key`, written as parquet, not nested.

    Args:
        columns: The table's column hints.
        primary_key: The columns of its primary key.

    Returns:
        Keyword arguments for `dlt.resource`.
    """
    return {
        "write_disposition": "merge",
        "primary_key": list(primary_key),
        "columns": columns,
        "file_format": "parquet",
        "max_table_nesting": 0,
    }
