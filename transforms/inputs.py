"""Typed inputs for the raw tables: what `{{ source('…') }}` becomes.

Each raw table is read through a SELECT that projects exactly the contract's columns
(`layout.SOURCES`) with the contract's types, whatever the table really holds: a missing column
becomes a typed NULL, a missing table an empty typed row set, text dates are parsed, and timestamps
without a zone are taken as UTC. The models can then rely on one shape on every destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import layout
from .quoting import quote

TEXT_TYPES = ("CHAR", "TEXT", "STRING")


def _is_text(data_type: str) -> bool:
    upper = data_type.upper()
    return any(t in upper for t in TEXT_TYPES)


def _is_zoned_timestamp(data_type: str) -> bool:
    upper = data_type.upper()
    # ClickHouse names the zone in the type: `DateTime64(6, 'UTC')`
    zoned_clickhouse = upper.startswith(("DATETIME", "NULLABLE(DATETIME")) and "'" in upper
    return (
        upper in ("TIMESTAMPTZ", "TIMESTAMP_TZ", "TIMESTAMP_LTZ")
        or "WITH TIME ZONE" in upper
        or zoned_clickhouse
    )


def column_expression(column: str, target: str, actual: str | None) -> str:
    """SQL that reads one raw column as the contract's type.

    Args:
        column: Column name.
        target: Contract type (`layout.BIGINT`, …).
        actual: The column's type in the destination, or None when the column does not exist.

    Returns:
        A typed expression aliased to the column name.
    """
    name = quote(column)
    if actual is None:
        expr = f"CAST(NULL AS {target})"
    elif target == layout.TEXT:
        expr = f"CAST({name} AS {target})"
    elif _is_text(actual):
        expr = f"CAST(NULLIF(TRIM({name}), '') AS {target})"
    elif target == layout.TIMESTAMPTZ and not _is_zoned_timestamp(actual):
        # A timestamp without zone (or a date) is stored UTC by convention; don't let the session decide.
        expr = f"CAST({name} AS TIMESTAMP) AT TIME ZONE 'UTC'"
    else:
        expr = f"CAST({name} AS {target})"
    return f"{expr} AS {name}"


@dataclass
class SourceInputs:
    """The SQL for every raw table plus what was missing.

    Attributes:
        sql: Raw table name → parenthesised SELECT with the contract's columns.
        missing_tables: Raw tables that do not exist (read as empty), optional ones excepted.
        absent_optional_tables: Optional raw tables (`layout.OPTIONAL_SOURCES`) that do not exist.
        missing_columns: Raw table → contract columns it lacks (read as NULL).
    """

    sql: dict[str, str] = field(default_factory=dict)
    missing_tables: list[str] = field(default_factory=list)
    absent_optional_tables: list[str] = field(default_factory=list)
    missing_columns: dict[str, list[str]] = field(default_factory=dict)


def source_inputs(
    qualified_dataset: str,
    existing: Mapping[str, Mapping[str, str]],
    contract: Mapping[str, Mapping[str, str]] = layout.SOURCES,
) -> SourceInputs:
    """Build the typed input of every raw table of the contract.

    Args:
        qualified_dataset: The dataset's quoted, qualified name in the source dialect; empty to name
            the raw tables without a schema (for views that bind in their own schema).
        existing: Raw table → {column → type} as found in the destination (lower-case names).
        contract: Raw table → {column → type} the models need.

    Returns:
        The inputs and what was missing.
    """
    result = SourceInputs()
    for table, columns in contract.items():
        actual = existing.get(table)
        if actual is None:
            if table in layout.OPTIONAL_SOURCES:
                result.absent_optional_tables.append(table)
            else:
                result.missing_tables.append(table)
            projection = ", ".join(column_expression(c, t, None) for c, t in columns.items())
            result.sql[table] = f"(SELECT {projection} WHERE 1 = 0)"
            continue
        lacking = [c for c in columns if c not in actual]
        if lacking:
            result.missing_columns[table] = lacking
        projection = ", ".join(column_expression(c, t, actual.get(c)) for c, t in columns.items())
        prefix = f"{qualified_dataset}." if qualified_dataset else ""
        result.sql[table] = f"(SELECT {projection} FROM {prefix}{quote(table)})"
    return result
