"""Other SQL engines for the marts: ClickHouse embedded (chdb) and Snowflake emulated (fakesnow).

Each engine gets the raw tables of a DuckDB dataset copied in with their columns and types, the marts
are built there by `build_models` in the engine's dialect, and the marts are read back as rows to
compare with DuckDB's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from .raw import Row, _plain

Rows = list[tuple[Any, ...]]


class ChdbExecutor:
    """The runner's `Executor` over a chdb session (ClickHouse has no multi-statement transactions)."""

    dialect = "clickhouse"

    def __init__(self, session: Any, dataset_name: str) -> None:
        self.session = session
        self.dataset_name = dataset_name

    def execute(self, sql: str) -> Rows:
        result = self.session.query(sql, "ArrowTable")
        table = result if hasattr(result, "to_pylist") else None
        if table is None or table.num_columns == 0:
            return []
        return [tuple(row.values()) for row in table.to_pylist()]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield


class SnowflakeExecutor:
    """The runner's `Executor` over a Snowflake connector connection (here fakesnow's)."""

    dialect = "snowflake"

    def __init__(self, conn: Any, dataset_name: str) -> None:
        self.conn = conn
        self.dataset_name = dataset_name

    def execute(self, sql: str) -> Rows:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.autocommit(False)  # as dlt's snowflake client opens a transaction
        try:
            yield
        except BaseException:
            self.conn.rollback()
            self.conn.autocommit(True)
            raise
        self.conn.commit()
        self.conn.autocommit(True)


def raw_tables(duck: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """The dataset's raw tables (everything dlt loaded, its own bookkeeping tables left out)."""
    rows = duck.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = ? AND table_type = 'BASE TABLE' "
        "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY table_name",
        [dataset],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _plain_columns(duck: duckdb.DuckDBPyConnection, dataset: str, table: str) -> str:
    """A projection of the table with nested and JSON columns as text (how another engine receives them)."""
    columns = duck.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [dataset, table],
    ).fetchall()
    nested = ("JSON", "STRUCT", "[]", "MAP", "UNION")
    return ", ".join(
        f'CAST("{name}" AS VARCHAR) AS "{name}"'
        if any(n in str(kind).upper() for n in nested)
        else f'"{name}"'
        for name, kind in columns
    )


def copy_to_clickhouse(duck: duckdb.DuckDBPyConnection, session: Any, dataset: str, folder: Path) -> None:
    """Copy every raw table into a ClickHouse database named like the dataset, through Parquet files."""
    session.query(f"CREATE DATABASE IF NOT EXISTS `{dataset}`")
    for table in raw_tables(duck, dataset):
        path = folder / f"{table}.parquet"
        projection = _plain_columns(duck, dataset, table)
        duck.execute(f'COPY (SELECT {projection} FROM "{dataset}"."{table}") TO \'{path}\' (FORMAT parquet)')
        session.query(
            f"CREATE TABLE `{dataset}`.`{table}` ENGINE = MergeTree ORDER BY tuple() "
            f"AS SELECT * FROM file('{path}', Parquet)"
        )


def copy_to_snowflake(duck: duckdb.DuckDBPyConnection, conn: Any, dataset: str) -> None:
    """Copy every raw table into Snowflake with upper-case names, as dlt's snowflake destination has them.

    Each table is created by a Snowflake `CREATE TABLE` with the DuckDB column types in Snowflake's
    spelling (zoned timestamps as TIMESTAMP_TZ), then filled with `write_pandas`.
    """
    from snowflake.connector.pandas_tools import write_pandas

    schema = dataset.upper()
    conn.cursor().execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in raw_tables(duck, dataset):
        projection = _plain_columns(duck, dataset, table)
        cursor = duck.execute(f'SELECT {projection} FROM "{dataset}"."{table}" LIMIT 0')
        columns = ", ".join(
            f"{name.upper()} {exp.DataType.build(str(kind), dialect='duckdb').sql('snowflake')}"
            for name, kind in zip(
                [d[0] for d in cursor.description], [d[1] for d in cursor.description], strict=True
            )
        )
        conn.cursor().execute(f"CREATE TABLE {schema}.{table.upper()} ({columns})")
        frame = duck.execute(f'SELECT {projection} FROM "{dataset}"."{table}"').df()
        frame.columns = [str(c).upper() for c in frame.columns]
        write_pandas(conn, frame, table.upper(), schema=schema)


def _normal(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # an engine that hands back UTC wall time without a zone
    return value


def _sort_key(row: Row, keys: Sequence[str]) -> tuple[Any, ...]:
    return tuple((row[k] is not None, row[k]) for k in keys)


def read_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], keys: Sequence[str]) -> list[Row]:
    """Rows as dicts with lower-case column names and comparable values, ordered by `keys` (NULLs first)."""
    names = [str(c).lower() for c in columns]
    out = [{c: _normal(v) for c, v in zip(names, row, strict=True)} for row in rows]
    return sorted(out, key=lambda r: _sort_key(r, keys))


def read_clickhouse(session: Any, dataset: str, table: str, keys: Sequence[str]) -> list[Row]:
    """A ClickHouse table's rows."""
    result = session.query(f"SELECT * FROM `{dataset}`.`{table}`", "ArrowTable")
    return read_rows(result.column_names, [tuple(r.values()) for r in result.to_pylist()], keys)


def read_snowflake(conn: Any, dataset: str, table: str, keys: Sequence[str]) -> list[Row]:
    """A Snowflake table's rows (upper-case names)."""
    cursor = conn.cursor()
    try:
        cursor.execute(f"SELECT * FROM {dataset.upper()}.{table.upper()}")
        columns = [d[0] for d in cursor.description]
        return read_rows(columns, cursor.fetchall(), keys)
    finally:
        cursor.close()


def read_duckdb(duck: duckdb.DuckDBPyConnection, dataset: str, table: str, keys: Sequence[str]) -> list[Row]:
    """A DuckDB table's rows."""
    cursor = duck.execute(f'SELECT * FROM "{dataset}"."{table}"')
    return read_rows([d[0] for d in cursor.description], cursor.fetchall(), keys)
