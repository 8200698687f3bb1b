"""A data lake as destination: dlt's `filesystem` destination writes Parquet, DuckDB builds the marts.

The raw tables land as Parquet files under `<bucket_url>/<dataset>/<table>/`. A lake cannot run SQL, so
the engagement tables are built in a DuckDB file (`--duckdb-path`): each raw table becomes a DuckDB view
over its Parquet files, and the models read those views like any raw table.

Tables loaded by merge are appended in a lake (dlt's filesystem destination merges only Delta and
Iceberg tables), so the files keep every version of a record; the staging models keep the latest fetch
of each key, which gives the same marts. Reconciliation cannot flag deleted records in Parquet files:
records deleted in Woodpecker stay in the lake's marts (docs/production.md).

Example:
    >>> with duckdb.connect("marts.duckdb") as con:
    ...     attach_lake(con, pipeline)           # views woodpecker.prospects, … over the Parquet files
    ...     build_models(con, "woodpecker")
"""

from __future__ import annotations

from typing import Any

import dlt
import duckdb
from dlt.common.destination.exceptions import DestinationUndefinedEntity

from transforms.build import BuildReport, build_models
from transforms.quoting import literal, quote

from . import defaults


def is_lake(pipeline: dlt.Pipeline) -> bool:
    """Whether the pipeline loads into files rather than a SQL database."""
    return pipeline.destination is not None and pipeline.destination.destination_name == "filesystem"


def lake_files(pipeline: dlt.Pipeline) -> dict[str, list[str]]:
    """Parquet files of each loaded data table (tables without files are left out)."""
    if not pipeline.default_schema_name:
        return {}
    client: Any = pipeline.destination_client()
    files: dict[str, list[str]] = {}
    for table in pipeline.default_schema.data_table_names():
        try:
            found = [f for f in client.list_table_files(table) if f.endswith(".parquet")]
        except DestinationUndefinedEntity:
            continue
        if found:
            files[table] = sorted(client.make_remote_url(f) for f in found)
    return files


def attach_lake(conn: duckdb.DuckDBPyConnection, pipeline: dlt.Pipeline) -> list[str]:
    """Create (or replace) one DuckDB view per loaded table over its Parquet files.

    Args:
        conn: The DuckDB connection the marts are built in.
        pipeline: A pipeline whose destination is `filesystem`.

    Returns:
        The tables given a view, in the pipeline's dataset (schema) of `conn`.
    """
    dataset = pipeline.dataset_name
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(dataset)}")
    tables = lake_files(pipeline)
    for table, files in tables.items():
        paths = ", ".join(literal(f) for f in files)
        conn.execute(
            f"CREATE OR REPLACE VIEW {quote(dataset)}.{quote(table)} AS "
            f"SELECT * FROM read_parquet([{paths}], union_by_name = true)"
        )
    return sorted(tables)


def build_lake_models(pipeline: dlt.Pipeline, duckdb_path: str = defaults.DUCKDB_PATH) -> BuildReport:
    """Build the engagement tables in the DuckDB file `duckdb_path` from the lake's Parquet files."""
    with duckdb.connect(duckdb_path) as conn:
        attach_lake(conn, pipeline)
        return build_models(conn, pipeline.dataset_name)
