"""Constants of the engagement models: layout, naming, dialects and the raw-table contract.

The raw-table contract (`SOURCES`) is derived from the source's table declarations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from sources.woodpecker_tables import TABLES, optional_tables

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

# Raw tables the models read (`{{ source('name') }}`) and the columns they use, with their types: derived
# from the table declarations (sources/woodpecker_tables.py, `Column.read` / `read_as`).
# Every table is optional: a missing table is replaced by an empty input of these columns, a missing
# column by NULL, so a partial load (no clicks yet, an older schema) still builds.
SOURCES: Final[dict[str, dict[str, str]]] = {
    table.name: {name: sql_type.upper() for name, sql_type in table.model_inputs().items()}
    for table in TABLES
}

# Raw tables that exist only when a feature is on (webhooks): read as empty when absent, and not reported
# as missing.
OPTIONAL_SOURCES: Final = optional_tables()

# The published tables a build reports row counts for.
MARTS: Final = (
    "campaign_performance",
    "campaign_prospect_engagement",
    "prospect_engagement",
    "campaign_daily_activity",
    "company_engagement",
    "step_version_performance",
)
