"""Constants of the engagement models: layout, naming, dialects and the raw-table contract."""

from __future__ import annotations

from pathlib import Path
from typing import Final

MODELS_DIR: Final = Path(__file__).parent / "models"
LAYERS: Final = ("staging", "intermediate", "marts")
# How each layer is materialised unless the model file says otherwise (`-- materialized: view`).
# On PostgreSQL (and by default) every layer is a table: a view pins the raw table it reads, which
# would stop dlt from dropping or replacing that table (full refresh). DuckDB does not pin tables
# behind views and writing wide tables to its file is its main cost, so there staging and
# intermediate models are published as views. During a build each lives in the temporary schema
# (`VIEW_CACHE_DIALECTS`): computed once into an in-memory table when several models read it, else a
# temporary view that its one reader inlines.
DEFAULT_MATERIALIZATION: Final = {"staging": "table", "intermediate": "table", "marts": "table"}
DIALECT_MATERIALIZATION: Final[dict[str, dict[str, str]]] = {
    "duckdb": {"staging": "view", "intermediate": "view"},
}
MATERIALIZATIONS: Final = ("view", "table")
VIEW_CACHE_DIALECTS: Final = ("duckdb",)
VIEW_CACHE_SCHEMA: Final = '"temp"."main"'

# Session settings a build applies (per dialect) and restores afterwards. Without insertion order
# DuckDB writes a table from all threads at once: the marts are sets, read with ORDER BY when order
# matters, and writing them is the largest part of a build.
BUILD_SESSION_SETTINGS: Final[dict[str, dict[str, str]]] = {
    "duckdb": {"preserve_insertion_order": "false"},
}

DEFAULT_DATASET: Final = "woodpecker"
# The dbt source name of the raw tables (`{{ source('woodpecker', 'prospects') }}`).
SOURCE_NAME: Final = "woodpecker"
# Suffix of the objects a build writes before they replace the published ones in one transaction.
BUILD_SUFFIX: Final = "__build"

# The SQL is written once in this dialect and transpiled for the others.
SOURCE_DIALECT: Final = "duckdb"
# Dialects the build runs on in the tests (Snowflake on an emulator, ClickHouse embedded) and dialects
# every model must at least transpile to.
RUNTIME_DIALECTS: Final = ("duckdb", "postgres", "snowflake", "clickhouse")
TRANSPILE_DIALECTS: Final = (
    "duckdb",
    "postgres",
    "bigquery",
    "snowflake",
    "redshift",
    "tsql",
    "databricks",
    "athena",
    "clickhouse",
)
# dlt warehouse destinations whose SQL dialect (`capabilities().sqlglot_dialect`) the models support:
# MotherDuck, DuckLake and the filesystem's SQL client speak DuckDB, mssql and synapse speak T-SQL.
WAREHOUSE_DESTINATIONS: Final = (
    "duckdb",
    "motherduck",
    "ducklake",
    "postgres",
    "bigquery",
    "snowflake",
    "redshift",
    "mssql",
    "synapse",
    "databricks",
    "athena",
    "clickhouse",
)
# Dialects that accept the `WITH name AS [NOT] MATERIALIZED (…)` hint; it is dropped for the others.
CTE_MATERIALIZATION_DIALECTS: Final = ("duckdb", "postgres")

# Column types of the contract, in the source dialect.
BIGINT: Final = "BIGINT"
TEXT: Final = "TEXT"
TIMESTAMPTZ: Final = "TIMESTAMPTZ"
BOOLEAN: Final = "BOOLEAN"
DOUBLE: Final = "DOUBLE"

_BOOKKEEPING: Final = {"deleted_at": TIMESTAMPTZ, "_fetched_at": TIMESTAMPTZ}
_STATS_COUNTERS: Final = (
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

# Raw tables the models read (`{{ source('name') }}`) and the columns they use, with their types.
# Every table is optional: a missing table is replaced by an empty input of these columns, a missing
# column by NULL, so a partial load (no clicks yet, an older schema) still builds.
SOURCES: Final[dict[str, dict[str, str]]] = {
    "prospects": {
        "id": BIGINT,
        "email": TEXT,
        "first_name": TEXT,
        "last_name": TEXT,
        "company": TEXT,
        "industry": TEXT,
        "website": TEXT,
        "title": TEXT,
        "country": TEXT,
        "tags": TEXT,
        "organization_id": BIGINT,
        "status": TEXT,
        "last_contacted": TIMESTAMPTZ,
        "last_replied": TIMESTAMPTZ,
        "updated": TIMESTAMPTZ,
        **_BOOKKEEPING,
    },
    "campaigns": {
        "id": BIGINT,
        "name": TEXT,
        "status": TEXT,
        "created": TIMESTAMPTZ,
        "folder_id": BIGINT,
        "folder_name": TEXT,
        "from_email": TEXT,
        "per_day": BIGINT,
        "daily_enroll": BIGINT,
        "timezone": TEXT,
        "details_status": TEXT,
        **_BOOKKEEPING,
    },
    "campaign_steps": {
        "campaign_id": BIGINT,
        "step_id": TEXT,
        "step_number": BIGINT,
        "type": TEXT,
        "followup_after_range": TEXT,
        "followup_after_value": BIGINT,
        "wait_hours": DOUBLE,
        "sending_days": TEXT,
        "version_count": BIGINT,
        **_BOOKKEEPING,
    },
    "campaign_step_versions": {
        "campaign_id": BIGINT,
        "step_id": TEXT,
        "step_number": BIGINT,
        "version_id": TEXT,
        "version": TEXT,
        "subject": TEXT,
        "signature": TEXT,
        "track_opens": BOOLEAN,
        **_BOOKKEEPING,
    },
    "campaign_prospects": {
        "campaign_id": BIGINT,
        "prospect_id": BIGINT,
        "status": TEXT,
        "sent_mails": BIGINT,
        "interested": TEXT,
        "campaign_email": TEXT,
        **_BOOKKEEPING,
    },
    "campaign_stats": {
        "campaign_id": BIGINT,
        "captured_at": TIMESTAMPTZ,
        **dict.fromkeys(_STATS_COUNTERS, BIGINT),
        "_fetched_at": TIMESTAMPTZ,
    },
    "prospect_opens": {
        "prospect_id": BIGINT,
        "campaign_id": BIGINT,
        "opened_at": TIMESTAMPTZ,
        **_BOOKKEEPING,
    },
    "prospect_clicks": {
        "prospect_id": BIGINT,
        "campaign_id": BIGINT,
        "url": TEXT,
        "clicked_at": TIMESTAMPTZ,
        **_BOOKKEEPING,
    },
    # Events a webhook receiver spooled (optional: absent unless webhooks are set up).
    "webhook_events": {
        "event_id": TEXT,
        "event": TEXT,
        "prospect_id": BIGINT,
        "campaign_id": BIGINT,
        "step": BIGINT,
        "occurred_at": TIMESTAMPTZ,
        "email": TEXT,
        "url": TEXT,
        "received_at": TIMESTAMPTZ,
    },
}

# Raw tables that exist only when a feature is on (webhooks): read as empty when absent, and not reported
# as missing.
OPTIONAL_SOURCES: Final = ("webhook_events",)

# The published tables a build reports row counts for.
MARTS: Final = (
    "campaign_performance",
    "campaign_prospect_engagement",
    "prospect_engagement",
    "campaign_daily_activity",
    "company_engagement",
    "step_version_performance",
)
