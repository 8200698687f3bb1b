"""Helpers that write hand-built raw tables and read marts back, for DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from transforms import layout
from transforms.dialects import to_dialect

Row = dict[str, Any]
UTC = dt.UTC


def ts(text: str) -> dt.datetime:
    """An aware UTC datetime from `YYYY-MM-DD HH:MM` (or with seconds)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _is_postgres(conn: Any) -> bool:
    return not type(conn).__module__.startswith(("duckdb", "_duckdb"))


def _execute(conn: Any, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    if _is_postgres(conn):
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
    cursor = conn.execute(sql, params) if params is not None else conn.execute(sql)
    return list(cursor.fetchall()) if cursor.description else []


def write_tables(
    conn: Any,
    dataset: str,
    tables: Mapping[str, Iterable[Row]],
    replace: bool = True,
    types: Mapping[str, str] | None = None,
) -> None:
    """Create raw tables with the contract's column types (unknown columns as TEXT) and fill them.

    Only the columns that appear in the rows are created, so a test can leave columns out.

    Args:
        conn: A DuckDB connection or a psycopg2 connection in autocommit mode.
        dataset: Schema to write into.
        tables: Table name → rows.
        replace: Drop an existing table of the same name first (else append to it).
        types: Column → type overrides (e.g. dates stored as TEXT), for every table.
    """
    dialect = "postgres" if _is_postgres(conn) else "duckdb"
    _execute(conn, to_dialect(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"', dialect))
    for table, rows in tables.items():
        rows = list(rows)
        columns: list[str] = []
        for row in rows:
            columns.extend(c for c in row if c not in columns)
        contract = layout.SOURCES.get(table, {})
        overrides = types or {}
        column_types = {c: overrides.get(c, contract.get(c, layout.TEXT)) for c in columns}
        name = f'"{dataset}"."{table}"'
        if replace:
            _execute(conn, f"DROP TABLE IF EXISTS {name}")
        ddl = ", ".join(f'"{c}" {t}' for c, t in column_types.items())
        _execute(conn, to_dialect(f"CREATE TABLE IF NOT EXISTS {name} ({ddl})", dialect))
        if not rows:
            continue
        marker = "%s" if dialect == "postgres" else "?"
        insert = f"INSERT INTO {name} ({', '.join(chr(34) + c + chr(34) for c in columns)}) VALUES "
        insert += "(" + ", ".join(marker for _ in columns) + ")"
        values = [tuple(row.get(c) for c in columns) for row in rows]
        if dialect == "postgres":
            with conn.cursor() as cur:
                cur.executemany(insert, values)
        else:
            conn.executemany(insert, values)


def _plain(value: Any) -> Any:
    """Values comparable across drivers: Decimal → float/int, aware datetimes → UTC, NaN → None."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def read_table(conn: Any, dataset: str, table: str, order_by: Sequence[str] | None = None) -> list[Row]:
    """All rows of a table as dicts, ordered by `order_by` (NULLs first) or all columns."""
    if _is_postgres(conn):
        with conn.cursor() as cur:
            cur.execute(f'SELECT * FROM "{dataset}"."{table}" LIMIT 0')
            columns = [d[0] for d in cur.description]
    else:
        columns = [d[0] for d in conn.execute(f'SELECT * FROM "{dataset}"."{table}" LIMIT 0').description]
    keys = order_by or columns
    order = ", ".join(f'"{k}" NULLS FIRST' for k in keys)
    rows = _execute(conn, f'SELECT * FROM "{dataset}"."{table}" ORDER BY {order}')
    return [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def by_key(rows: Iterable[Row], *key: str) -> dict[Any, Row]:
    """Index rows by one column or a tuple of columns; fails on a duplicate key."""
    out: dict[Any, Row] = {}
    for row in rows:
        k = row[key[0]] if len(key) == 1 else tuple(row[c] for c in key)
        assert k not in out, f"duplicate key {k!r}"
        out[k] = row
    return out
