"""The catalog query: which tables and columns a dataset holds, read from `information_schema`.

One per-dialect form serves the model build (`runner`) and the pipelines (row counts without a local
schema, the `column` account layout's views, the marts state, the dashboard).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .dialects import fold_identifier
from .quoting import literal

# Runs one SQL statement and returns its rows (None or empty for none).
Query = Callable[[str], Sequence[Sequence[Any]] | None]


def catalog_view(view: str, dataset: str, dialect: str) -> str:
    """`FROM` and `WHERE` of an `information_schema` view (`tables`, `columns`) for the dataset.

    BigQuery keeps one `INFORMATION_SCHEMA` per dataset; a ClickHouse dataset is a database; T-SQL,
    Athena and Databricks read the current database's (catalog's) own `information_schema`.

    Args:
        view: `tables` or `columns`.
        dataset: The dataset (schema) as the models and the pipelines spell it.
        dialect: The destination's sqlglot dialect (an unknown one gets the plain ANSI form).

    Returns:
        The text to follow `SELECT … FROM`.
    """
    if dialect == "bigquery":
        return f"`{dataset}`.INFORMATION_SCHEMA.{view.upper()}"
    condition = f"table_schema = {literal(fold_identifier(dataset, dialect))}"
    if dialect in ("duckdb", "postgres", "redshift", "snowflake"):
        # a DuckDB session can see attached databases' objects too
        condition += " AND table_catalog = current_database()"
    return f"information_schema.{view} WHERE {condition}"


def dataset_tables(query: Query, dataset: str, dialect: str) -> set[str]:
    """The names of the tables and views in `dataset`, as the database stores them."""
    rows = query(f"SELECT table_name FROM {catalog_view('tables', dataset, dialect)}")
    return {str(row[0]) for row in rows or []}


def dataset_columns(query: Query, dataset: str, dialect: str) -> dict[str, list[str]]:
    """Table → its columns in order, for every table and view in `dataset`, as the database stores them."""
    rows = query(
        f"SELECT table_name, column_name FROM {catalog_view('columns', dataset, dialect)} "
        "ORDER BY table_name, ordinal_position"
    )
    columns: dict[str, list[str]] = {}
    for table, column in rows or []:
        columns.setdefault(str(table), []).append(str(column))
    return columns
