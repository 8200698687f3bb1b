"""Which columns of other models a model reads.

A build computes a multi-reader staging view once into a temporary table (see `runner`); it only needs
to keep the columns its readers name. The analysis is conservative: a `*` over the table, or a column
without a table qualifier in a query that reads several tables, means "every column".

Example:
    >>> columns_read("SELECT p.id, p.email FROM t AS p JOIN u ON u.id = p.id", ["t"])
    {'t': frozenset({'email', 'id'})}
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from sqlglot import exp, parse_one
from sqlglot.optimizer.scope import traverse_scope

from . import layout
from .catalog import Model, render
from .quoting import quote


def _reads_star(select: object, aliases: set[str]) -> bool:
    """Whether a SELECT list holds `*` or `<alias>.*` for one of the table's aliases."""
    for projection in select.expressions if isinstance(select, exp.Select) else []:
        if isinstance(projection, exp.Star):
            return True
        qualified_star = isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        if qualified_star and projection.table in aliases:
            return True
    return False


def columns_read(sql: str, tables: Iterable[str]) -> dict[str, frozenset[str] | None]:
    """The columns of each of `tables` that a statement reads.

    Args:
        sql: One statement in the source dialect.
        tables: Table names (unqualified, compared without case).

    Returns:
        Table → its column names (lower case), or None when the statement may read every column.
    """
    used: dict[str, set[str] | None] = {table.lower(): set() for table in tables}
    for scope in traverse_scope(parse_one(sql, read=layout.SOURCE_DIALECT)):
        for table in used:
            aliases = {
                alias
                for alias, source in scope.sources.items()
                if isinstance(source, exp.Table) and source.name.lower() == table
            }
            columns = used[table]
            if not aliases or columns is None:
                continue
            if _reads_star(scope.expression, aliases):
                used[table] = None
                continue
            only_source = len(scope.sources) == 1
            for column in scope.columns:
                if column.table in aliases or (not column.table and only_source):
                    columns.add(column.name.lower())
                elif not column.table:
                    used[table] = None  # cannot tell which table it comes from
                    break
    return {table: None if columns is None else frozenset(columns) for table, columns in used.items()}


@lru_cache(maxsize=256)
def ref_columns(model: Model) -> dict[str, frozenset[str] | None]:
    """The columns `model` reads from each model it refers to (None: possibly all of them)."""
    sql = render(model, quote, lambda source: quote(f"source__{source}"))
    return columns_read(sql, model.refs)
