"""Every function the models call on a destination is one that destination documents.

Per dialect, `dialect_functions/<dialect>.txt` lists the functions of the engine's function reference
(ClickHouse's is the running engine's own `system.functions`). The SQL of a build — every model over
typed inputs of every raw column kind — is transpiled to the dialect, and any function outside the list
fails here, not in a warehouse. A few constructs that are not function calls but that a dialect lacks
(an `EPOCH` date part, `AT TIME ZONE`, `DATE + INTEGER`, boolean values in T-SQL) are checked too.
"""

from __future__ import annotations

import json

import pytest
import sqlglot
from sqlglot import exp

from transforms.catalog import load_models, render
from transforms.inputs import source_inputs

from .function_names import allow_list, build_statements, called_functions

CHECKED_DIALECTS = ("bigquery", "tsql", "redshift", "athena", "snowflake", "clickhouse", "databricks")
# Dialects without `EXTRACT(EPOCH …)` / `DATE_PART(EPOCH, …)`, without `AT TIME ZONE`, without `DATE + n`.
NO_EPOCH_PART = ("bigquery", "tsql", "athena", "clickhouse", "databricks")
NO_AT_TIME_ZONE = ("bigquery", "athena", "clickhouse")
NO_DATE_PLUS_INTEGER = ("bigquery", "tsql", "athena", "databricks")
# Dialects without boolean values: a condition may not be selected as a column or be COALESCE's argument.
NO_BOOLEAN_VALUES = ("tsql",)


def _condition(node: exp.Expr) -> bool:
    if isinstance(node, exp.Paren):
        return _condition(node.this)
    return isinstance(node, exp.Predicate | exp.Connector | exp.Not | exp.Boolean)


# Parser forms of ClickHouse that are documented functions but not rows of `system.functions`.
CLICKHOUSE_SYNTAX = {"DATE_ADD"}


def unsupported_constructs(sql: str | exp.Expr, dialect: str) -> list[str]:
    """The constructs of `sql` (in `dialect`, or parsed) that `dialect` does not have (see the module's
    constants)."""
    found = []
    tree = sqlglot.parse_one(sql, read=dialect) if isinstance(sql, str) else sql
    for node in tree.walk():
        if dialect in NO_EPOCH_PART and isinstance(node, exp.Var) and node.name.upper() == "EPOCH":
            found.append(f"EPOCH date part in {node.parent.sql(dialect) if node.parent else node}")
        if dialect in NO_AT_TIME_ZONE and isinstance(node, exp.AtTimeZone):
            found.append(f"AT TIME ZONE in {node.sql(dialect)}")
        if (
            dialect in NO_DATE_PLUS_INTEGER
            and isinstance(node, exp.Add)
            and isinstance(node.this, exp.Cast)
            and node.this.to.this == exp.DataType.Type.DATE
        ):
            found.append(f"DATE + INTEGER in {node.sql(dialect)}")
        if dialect in NO_BOOLEAN_VALUES and isinstance(node, exp.Select):
            for projection in node.expressions:
                value = projection.this if isinstance(projection, exp.Alias) else projection
                if _condition(value):
                    found.append(f"a condition selected as a column: {projection.sql(dialect)}")
        if (
            dialect in NO_BOOLEAN_VALUES
            and isinstance(node, exp.Coalesce)
            and any(_condition(e) for e in [node.this, *node.expressions])
        ):
            found.append(f"COALESCE over conditions: {node.sql(dialect)}")
    return found


@pytest.mark.parametrize("dialect", CHECKED_DIALECTS)
def test_every_function_and_construct_is_the_dialects(dialect: str) -> None:
    allowed = allow_list(dialect)
    for statement in build_statements(dialect):
        tree = sqlglot.parse_one(statement, read=dialect)
        unknown = called_functions(tree, dialect) - allowed
        assert not unknown, f"{dialect} has no {sorted(unknown)}: {statement[:200]}"
        assert not unsupported_constructs(tree, dialect)


@pytest.mark.parametrize(
    ("dialect", "model_name"),
    [
        ("bigquery", "campaign_daily_activity"),
        ("athena", "campaign_daily_activity"),
        ("databricks", "campaign_daily_activity"),
        ("clickhouse", "campaign_daily_activity"),
        ("tsql", "campaign_prospect_engagement"),
    ],
)
def test_the_checks_reject_generic_transpilation(dialect: str, model_name: str) -> None:
    """sqlglot alone keeps an epoch extraction, date arithmetic or boolean columns these dialects lack:
    the checks see it."""
    model = next(m for m in load_models() if m.name == model_name)
    inputs = source_inputs('"woodpecker"', {})
    body = render(model, lambda name: f'"woodpecker"."{name}"', inputs.sql)
    generic = sqlglot.transpile(body, read="duckdb", write=dialect)[0]
    problems = unsupported_constructs(generic, dialect)
    problems += sorted(called_functions(generic, dialect) - allow_list(dialect))
    assert problems


def test_clickhouse_allow_list_is_the_engines_own() -> None:
    """Every name on the ClickHouse list is a function (or alias) the embedded engine registers."""
    import chdb

    registered = chdb.query(
        "SELECT groupUniqArray(upper(n)) FROM (SELECT name AS n FROM system.functions "
        "UNION ALL SELECT alias_to FROM system.functions WHERE alias_to != '')",
        "JSONCompact",
    )
    names = set(json.loads(registered.bytes())["data"][0][0])
    listed = allow_list("clickhouse") - CLICKHOUSE_SYNTAX
    assert len(names) > 1000
    assert listed <= names, sorted(listed - names)[:20]
