"""The functions a statement calls, as the target dialect spells them, for the dialect allow-list test."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import exp

from transforms import layout
from transforms.build import _Build
from transforms.catalog import load_models, render
from transforms.dialects import to_dialect
from transforms.inputs import source_inputs

ALLOW_LISTS = Path(__file__).parent / "dialect_functions"
_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\(")
# Column types a raw table may have on the destinations: text, a timestamp without zone, a zoned one.
_RAW_KINDS = ("VARCHAR", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "BIGINT")


def called_functions(sql: str | exp.Expr, dialect: str) -> set[str]:
    """Upper-case names of the functions `sql` (in `dialect`, or parsed) calls, syntax forms such as CAST
    included."""
    names: set[str] = set()
    tree = sqlglot.parse_one(sql, read=dialect) if isinstance(sql, str) else sql
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            names.add(str(node.name).upper())
        elif isinstance(node, exp.Func) and not isinstance(node, exp.Case):
            match = _CALL.match(node.sql(dialect=dialect, comments=False))
            if match:
                names.add(match.group(1).upper())
    return names


@cache
def build_statements(dialect: str) -> tuple[str, ...]:
    """The statements a build sends, in `dialect`: each model (over typed inputs of absent columns), the
    typed input of every raw table for every raw column kind, a mart's count, the catalogue queries."""
    statements = []
    inputs = source_inputs('"woodpecker"', {})
    for model in load_models():
        body = render(model, lambda name: f'"woodpecker"."{name}__build"', inputs.sql)
        statements.append(to_dialect(f'CREATE TABLE "woodpecker"."{model.name}__build" AS {body}', dialect))
    for kind in _RAW_KINDS:
        existing = {table: dict.fromkeys(columns, kind) for table, columns in layout.SOURCES.items()}
        for table, sql in source_inputs('"woodpecker"', existing).sql.items():
            statements.append(to_dialect(f"SELECT * FROM {sql} AS {table}", dialect))
    statements.append(to_dialect('SELECT COUNT(*) FROM "woodpecker"."campaign_performance"', dialect))
    # the catalogue queries a build sends as they are (written per dialect, not transpiled)
    build = _Build(executor=None, dataset_name="woodpecker", dialect=dialect, models=[])  # type: ignore[arg-type]
    statements.append(f"SELECT table_name, column_name, data_type FROM {build.catalogue('columns')}")
    statements.append(f"SELECT table_name, table_type FROM {build.catalogue('tables')}")
    return tuple(statements)


def allow_list(dialect: str) -> set[str]:
    """The dialect's documented functions kept in `dialect_functions/<dialect>.txt` (`#` starts a comment)."""
    lines = (ALLOW_LISTS / f"{dialect}.txt").read_text().splitlines()
    return {line.split("#", 1)[0].strip().upper() for line in lines if line.split("#", 1)[0].strip()}
