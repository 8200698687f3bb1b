"""Transpiling the models from the source dialect (DuckDB) to a destination's dialect."""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from . import settings


@lru_cache(maxsize=512)
def to_dialect(sql: str, dialect: str) -> str:
    """Rewrite one statement written in the source dialect for `dialect`.

    Args:
        sql: One SQL statement in the DuckDB dialect.
        dialect: A sqlglot dialect name (`duckdb`, `postgres`, `bigquery`, `snowflake`, …).

    Returns:
        The statement in the target dialect (unchanged for the source dialect).

    Raises:
        sqlglot.errors.SqlglotError: When the statement cannot be parsed or uses a construct the
            target dialect does not support.
    """
    if dialect == settings.SOURCE_DIALECT:
        return sql
    statements = [s for s in sqlglot.parse(sql, read=settings.SOURCE_DIALECT) if s is not None]
    if len(statements) != 1:
        raise ValueError(f"expected one statement, got {len(statements)}")
    statement = statements[0]
    if dialect not in settings.CTE_MATERIALIZATION_DIALECTS:
        # `AS [NOT] MATERIALIZED` is a planner hint: drop it where the dialect has no such syntax
        for cte in statement.find_all(exp.CTE):
            cte.set("materialized", None)
    return statement.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
