"""Transpiling the models from the source dialect (DuckDB) to a destination's dialect.

sqlglot's generic transpilation is right for most of the models' SQL, but a few expressions have no
common spelling, and for those it keeps a form the target does not accept (BigQuery has no
`EXTRACT(EPOCH …)`, Trino cannot add an integer to a DATE, ClickHouse drops a timestamp's fractions).
Those are rewritten here, once per target dialect, before the statement is generated, so the model
files stay one copy in the DuckDB dialect:

- seconds since the epoch of a zoned timestamp (`EXTRACT(EPOCH FROM t)`): `_EPOCH_SECONDS`;
- a day count added to a date (`DATE '1970-01-01' + n`): the dialect's `DATE_ADD` / `DATEADD`;
- a timestamp without zone read as UTC (`CAST(x AS TIMESTAMP) AT TIME ZONE 'UTC'`): `_NAIVE_AS_UTC`;
- ClickHouse: zoned timestamps as `DateTime64(6, 'UTC')`, tables created with an engine, joins that
  fill unmatched columns with NULL (`join_use_nulls`), column names that win over same-named aliases
  (`prefer_column_name_to_alias`), qualified columns named plainly, renames that stay in the database;
- Snowflake: identifiers in upper case, as dlt creates them there (quoted names are case-sensitive);
- T-SQL, which has no boolean values: conditions selected as columns become BIT values.

The statement for the source dialect itself is returned unchanged (the DuckDB build pays nothing).
"""

from __future__ import annotations

from functools import cache, lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from . import layout

_VALUE = "__value__"
# Seconds since 1970-01-01 UTC, with fractions, of a zoned timestamp. Absent: `EXTRACT(EPOCH …)` is
# right as sqlglot writes it (DuckDB, PostgreSQL, Redshift).
_EPOCH_SECONDS: dict[str, str] = {
    "bigquery": f"UNIX_MICROS({_VALUE}) / 1000000",
    "databricks": f"UNIX_MICROS({_VALUE}) / 1000000",
    # DATEDIFF_BIG reads its arguments as DATETIME2: the offset is switched to UTC first
    "tsql": (
        "CAST(DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS DATETIME2), "
        f"SWITCHOFFSET({_VALUE}, '+00:00')) AS FLOAT) / 1000000"
    ),
    "clickhouse": f"toUnixTimestamp64Micro({_VALUE}) / 1000000",
    "snowflake": f"DATE_PART(EPOCH_MICROSECOND, {_VALUE}) / 1000000",
    "athena": f"TO_UNIXTIME({_VALUE})",
}
# A timestamp without zone (the value of `CAST(x AS TIMESTAMP)`) taken as UTC wall time. Absent:
# `AT TIME ZONE 'UTC'` means exactly that (DuckDB, PostgreSQL, Redshift, T-SQL) or sqlglot's spelling does.
_NAIVE_AS_UTC: dict[str, str] = {
    "bigquery": f"TIMESTAMP({_VALUE}, 'UTC')",
    "athena": f"WITH_TIMEZONE({_VALUE}, 'UTC')",
    "clickhouse": f"toDateTime64(toString({_VALUE}), 6, 'UTC')",
}
# Dialects without `DATE + INTEGER` (or where `DATEADD` says it plainly): a day count is added with
# the dialect's date-add function.
_DATE_ADD_DIALECTS = ("bigquery", "tsql", "athena", "databricks", "clickhouse", "snowflake")
# Dialects whose unquoted identifiers are upper case, and where dlt creates every name in upper case.
UPPER_CASE_DIALECTS = ("snowflake",)
# ClickHouse: how a model's table is stored, and the settings of every model's query.
CLICKHOUSE_TABLE = "CREATE TABLE t ENGINE=MergeTree ORDER BY tuple() AS SELECT 1"
CLICKHOUSE_SETTINGS = "SELECT 1 SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1"


def fold_identifier(name: str, dialect: str) -> str:
    """The name under which `dialect` stores an identifier the models spell `name`.

    Args:
        name: An identifier as the models and the runner write it (lower case).
        dialect: Target dialect.

    Returns:
        The name upper-cased on Snowflake, else unchanged.
    """
    return name.upper() if dialect in UPPER_CASE_DIALECTS else name


@cache
def _template(sql: str, dialect: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read=dialect)


def _fill(template: str, dialect: str, value: exp.Expr) -> exp.Expr:
    """The template's expression (in `dialect`) with `value` in place of its placeholder column."""
    filled = _template(template, dialect).copy()
    for column in list(filled.find_all(exp.Column)):
        if column.name == _VALUE:
            column.replace(value.copy())
    return filled


def _is_day_count_added_to_date(node: exp.Expr) -> bool:
    """`<date> + <integer>`: the left side a cast to DATE (or a DATE literal), the right an integer cast."""
    if not isinstance(node, exp.Add):
        return False
    left, right = node.this, node.expression
    return (
        isinstance(left, exp.Cast)
        and left.to.this == exp.DataType.Type.DATE
        and isinstance(right, exp.Cast)
        and right.to.this in exp.DataType.INTEGER_TYPES
    )


def _rewrite_value(node: exp.Expr, dialect: str) -> exp.Expr:
    """Epoch seconds, naive timestamps and ClickHouse's zoned type (used with `Expression.transform`)."""
    if isinstance(node, exp.Extract) and node.this.name.upper() == "EPOCH" and dialect in _EPOCH_SECONDS:
        return exp.paren(_fill(_EPOCH_SECONDS[dialect], dialect, node.expression), copy=False)
    if (
        isinstance(node, exp.AtTimeZone)
        and dialect in _NAIVE_AS_UTC
        and isinstance(node.this, exp.Cast)
        and node.this.to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ)
        and node.args["zone"].name.upper() == "UTC"
    ):
        value = node.this.this if dialect == "clickhouse" else node.this
        return _fill(_NAIVE_AS_UTC[dialect], dialect, value)
    if (
        dialect == "clickhouse"
        and isinstance(node, exp.DataType)
        and node.this == exp.DataType.Type.TIMESTAMPTZ
    ):
        return exp.DataType.build("Nullable(DateTime64(6, 'UTC'))", dialect="clickhouse")
    return node


def _rewrite_date_add(node: exp.Expr, dialect: str) -> exp.Expr:
    if _is_day_count_added_to_date(node) and dialect in _DATE_ADD_DIALECTS:
        return exp.DateAdd(this=node.this, expression=node.expression, unit=exp.var("DAY"))
    return node


def _fold_identifier(node: exp.Expr, dialect: str) -> exp.Expr:
    if isinstance(node, exp.Identifier):
        return exp.Identifier(this=fold_identifier(node.this, dialect), quoted=node.quoted)
    return node


def _is_condition(node: exp.Expr) -> bool:
    """A boolean-valued expression recognisable without types (comparison, AND/OR/NOT, TRUE/FALSE)."""
    if isinstance(node, exp.Paren):
        return _is_condition(node.this)
    if isinstance(node, exp.Coalesce):
        return all(_is_condition(e) for e in [node.this, *node.expressions])
    return isinstance(node, exp.Predicate | exp.Connector | exp.Not | exp.Boolean)


def _as_bit(node: exp.Expr) -> exp.Expr:
    """T-SQL: a condition as a 1 / 0 / NULL value (T-SQL has no boolean values, only BIT columns)."""
    if isinstance(node, exp.Paren):
        return _as_bit(node.this)
    if isinstance(node, exp.Boolean):
        return exp.Literal.number(1 if node.this else 0)
    if isinstance(node, exp.Coalesce):
        return exp.Coalesce(this=_as_bit(node.this), expressions=[_as_bit(e) for e in node.expressions])
    return exp.Case(
        ifs=[
            exp.If(this=node.copy(), true=exp.Literal.number(1)),
            exp.If(this=exp.not_(node.copy()), true=exp.Literal.number(0)),
        ]
    )


def _tsql_booleans(statement: exp.Expr) -> exp.Expr:
    """T-SQL: conditions selected as columns become BIT values, COALESCE over conditions a comparison.

    A column that holds a condition (`sent_mails > 0 AS was_contacted`) is written
    `CAST(CASE WHEN c THEN 1 WHEN NOT c THEN 0 END AS BIT)` (NULL stays NULL); `COALESCE(c, FALSE)` used
    as a condition is `COALESCE(<bit of c>, 0) = 1`. sqlglot already writes a BIT column used as a
    condition as `col <> 0`.
    """

    def coalesce(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Coalesce) and _is_condition(node):
            return exp.paren(exp.EQ(this=_as_bit(node), expression=exp.Literal.number(1)), copy=False)
        return node

    statement = statement.transform(coalesce, copy=False)
    for select in statement.find_all(exp.Select):
        projections = []
        for projection in select.expressions:
            value = projection.this if isinstance(projection, exp.Alias) else projection
            if _is_condition(value):
                bit = exp.cast(_as_bit(value), exp.DataType.build("BOOLEAN"))
                projection = exp.alias_(bit, projection.alias) if isinstance(projection, exp.Alias) else bit
            projections.append(projection)
        select.set("expressions", projections)
    return statement


def _clickhouse_statement(statement: exp.Expr) -> None:
    """Engine for created tables, NULL-filling joins for model queries, plain output column names,
    conditions selected as Bool (a ClickHouse comparison is a UInt8 0 / 1)."""
    for select in statement.find_all(exp.Select):
        projections = []
        for e in select.expressions:
            if isinstance(e, exp.Column) and e.table and not isinstance(e.this, exp.Star):
                # ClickHouse names the output of `t.c` "t.c", not "c": name qualified columns explicitly
                e = exp.alias_(e, e.name, quoted=e.this.quoted)
            value = e.this if isinstance(e, exp.Alias) else e
            if isinstance(e, exp.Alias) and _is_condition(value):
                e = exp.alias_(exp.cast(value, exp.DataType.build("BOOLEAN")), e.alias)
            projections.append(e)
        select.set("expressions", projections)
    if isinstance(statement, exp.Create) and isinstance(statement.expression, exp.Query):
        query = statement.expression
        if isinstance(query, exp.Select) and not query.args.get("settings"):
            query.set(
                "settings", [s.copy() for s in _template(CLICKHOUSE_SETTINGS, "clickhouse").args["settings"]]
            )
        if statement.kind == "TABLE" and not statement.find(exp.EngineProperty):
            properties = _template(CLICKHOUSE_TABLE, "clickhouse").args["properties"].copy()
            statement.set("properties", properties)


def _qualify_rename(statement: exp.Expr) -> None:
    """`ALTER TABLE s.a RENAME TO b` keeps the table in `s` (Snowflake and ClickHouse resolve `b` alone
    in the session's current schema)."""
    if not isinstance(statement, exp.Alter):
        return
    table = statement.this
    for action in statement.args.get("actions") or []:
        renamed = action.this if isinstance(action, exp.AlterRename) else None
        if isinstance(renamed, exp.Table) and not renamed.args.get("db") and table.args.get("db"):
            renamed.set("db", table.args["db"].copy())
            if table.args.get("catalog"):
                renamed.set("catalog", table.args["catalog"].copy())


def _clickhouse_rename(statement: exp.Expr) -> str | None:
    """ClickHouse renames with `RENAME TABLE a TO b`, not `ALTER TABLE … RENAME TO`."""
    if not isinstance(statement, exp.Alter):
        return None
    actions = statement.args.get("actions") or []
    if len(actions) != 1 or not isinstance(actions[0], exp.AlterRename):
        return None
    old, new = statement.this.sql("clickhouse"), actions[0].this.sql("clickhouse")
    return f"RENAME TABLE {old} TO {new}"


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
    if dialect == layout.SOURCE_DIALECT:
        return sql
    statements = [s for s in sqlglot.parse(sql, read=layout.SOURCE_DIALECT) if s is not None]
    if len(statements) != 1:
        raise ValueError(f"expected one statement, got {len(statements)}")
    statement = statements[0]
    if dialect not in layout.CTE_MATERIALIZATION_DIALECTS:
        # `AS [NOT] MATERIALIZED` is a planner hint: drop it where the dialect has no such syntax
        for cte in statement.find_all(exp.CTE):
            cte.set("materialized", None)
    # one pass per kind of rewrite: a pass does not look inside the nodes it has just replaced
    statement = statement.transform(_rewrite_value, dialect, copy=False)
    statement = statement.transform(_rewrite_date_add, dialect, copy=False)
    if dialect in UPPER_CASE_DIALECTS:
        statement = statement.transform(_fold_identifier, dialect, copy=False)
    if dialect == "tsql":
        statement = _tsql_booleans(statement)
    if dialect in ("snowflake", "clickhouse"):
        _qualify_rename(statement)
    if dialect == "clickhouse":
        rename = _clickhouse_rename(statement)
        if rename is not None:
            return rename
        _clickhouse_statement(statement)
    return statement.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
