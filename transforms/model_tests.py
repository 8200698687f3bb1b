"""The `schema.yml` tests, run by the built-in runner on the published models (`transform --test`).

The same tests `dbt build` runs on the package (docs/metrics.md, "Tests of the models"): `unique`,
`not_null`, `accepted_values`, `relationships` and the package's `woodpecker.expression_is_true`,
`woodpecker.accepted_range` and `woodpecker.unique_grain`. Each test is a query for the rows that break
it, written in the source dialect and transpiled like the models; a failure names the model, the column
and the first failing key (the model's grain), in the form the package's tests log under dbt:

    woodpecker test failed: campaign_prospect_engagement.was_replied: expression_is_true(NOT was_replied OR
    was_contacted) fails for campaign_id=3, prospect_id=17 (1 row)

Example:
    >>> report = run_model_tests(pipeline)
    >>> [failure.message() for failure in report.failures]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import layout
from .connection import Executor, Target, open_executor
from .dialects import to_dialect
from .model_docs import DataTest, ModelDoc, SchemaError, load_schema
from .quoting import quote, value_literal

_REF = re.compile(r"""^\s*ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*$""")


@dataclass(frozen=True)
class DataTestFailure:
    """One test that found rows breaking it.

    Attributes:
        model: The model tested.
        column: The column the test is on (None for a model-level test).
        test: The test and its arguments, e.g. `expression_is_true(replied <= contacted)`.
        key: The grain columns of the first failing row and their values.
        rows: How many rows fail.
        severity: `error` or `warn`.
    """

    model: str
    column: str | None
    test: str
    key: tuple[tuple[str, Any], ...]
    rows: int
    severity: str = "error"

    def message(self) -> str:
        """The one-line report, as the package's dbt tests log it."""
        where = f"{self.model}.{self.column}" if self.column else self.model
        key = ", ".join(f"{name}={value}" for name, value in self.key)
        unit = "row" if self.rows == 1 else "rows"
        return f"woodpecker test failed: {where}: {self.test} fails for {key} ({self.rows} {unit})"


@dataclass
class DataTestReport:
    """What a test run found.

    Attributes:
        tests_run: How many tests ran.
        failures: Tests of severity `error` that failed.
        warnings: Tests of severity `warn` that failed.
    """

    tests_run: int = 0
    failures: list[DataTestFailure] = field(default_factory=list)
    warnings: list[DataTestFailure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No test of severity `error` failed."""
        return not self.failures


def label_of(test: DataTest) -> str:
    """How a test is named in a failure: the generic test without package, with its arguments."""
    name = test.name.split(".")[-1]
    args = test.arguments
    if name == "expression_is_true":
        return f"{name}({args['expression']})"
    if name == "accepted_range":
        return f"{name}({args['min_value']}, {args['max_value']})"
    if name == "accepted_values":
        return f"{name}({', '.join(str(v) for v in args['values'])})"
    if name == "relationships":
        return f"{name}({_ref_target(args['to'])}.{args['field']})"
    return name


def _ref_target(to: str) -> str:
    match = _REF.match(to)
    if match is None:
        raise SchemaError(f"relationships: `to` must be ref('model'), got {to!r}")
    return match.group(1)


def failing_rows_sql(
    test: DataTest, relation: str, column: str | None, grain: Sequence[str], name_of: Mapping[str, str]
) -> str:
    """A SELECT (source dialect) of the rows that break `test`; they carry the model's grain columns.

    Args:
        test: The test.
        relation: The tested model's qualified name.
        column: The column the test is on (None for a model-level test).
        grain: The model's grain columns.
        name_of: Model name → qualified name (for `relationships`).

    Raises:
        SchemaError: For a test the runner does not know.
    """
    kind = test.name.split(".")[-1]
    args = test.arguments
    col = quote(column) if column else ""
    if kind == "expression_is_true":
        return f"SELECT * FROM {relation} WHERE NOT ({args['expression']})"
    if kind == "accepted_range":
        return f"SELECT * FROM {relation} WHERE {col} < {args['min_value']} OR {col} > {args['max_value']}"
    if kind == "unique_grain":
        keys = ", ".join(quote(g) for g in grain)
        return f"SELECT {keys}, COUNT(*) AS duplicates FROM {relation} GROUP BY {keys} HAVING COUNT(*) > 1"
    if kind == "unique":
        return (
            f"SELECT * FROM {relation} WHERE {col} IN "
            f"(SELECT {col} FROM {relation} WHERE {col} IS NOT NULL GROUP BY {col} HAVING COUNT(*) > 1)"
        )
    if kind == "not_null":
        return f"SELECT * FROM {relation} WHERE {col} IS NULL"
    if kind == "accepted_values":
        values = ", ".join(value_literal(v) for v in args["values"])
        return f"SELECT * FROM {relation} WHERE {col} NOT IN ({values})"
    if kind == "relationships":
        parent = name_of[_ref_target(args["to"])]
        return (
            f"SELECT c.* FROM {relation} AS c WHERE c.{col} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {parent} AS p WHERE p.{quote(args['field'])} = c.{col})"
        )
    raise SchemaError(f"unknown test {test.name!r}")


def first_failure_sql(failing: str, grain: Sequence[str]) -> str:
    """The first failing row's grain and the number of failing rows (no row when the test passes)."""
    keys = ", ".join(quote(g) for g in grain)
    return (
        f"SELECT {keys}, COUNT(*) OVER () AS failing_rows FROM ({failing}) AS failing ORDER BY {keys} LIMIT 1"
    )


def _run_one(
    ex: Executor, dialect: str, doc: ModelDoc, test: DataTest, column: str | None, name_of: Mapping[str, str]
) -> DataTestFailure | None:
    failing = failing_rows_sql(test, name_of[doc.name], column, doc.grain, name_of)
    rows = ex.execute(to_dialect(first_failure_sql(failing, doc.grain), dialect))
    if not rows:
        return None
    row = rows[0]
    key = tuple(zip(doc.grain, row[: len(doc.grain)], strict=True))
    return DataTestFailure(doc.name, column, label_of(test), key, int(row[-1]), test.severity)


def run_model_tests(
    pipeline_or_sql_client: Target,
    dataset_name: str | None = None,
    dialect: str | None = None,
    docs: Mapping[str, ModelDoc] | None = None,
) -> DataTestReport:
    """Run every `schema.yml` test of the models `build_models` publishes.

    Args:
        pipeline_or_sql_client: What `build_models` accepts (dlt pipeline or SQL client, DuckDB or
            psycopg2 connection).
        dataset_name: Dataset holding the models; defaults like `build_models`.
        dialect: sqlglot dialect; defaults to what the connection reports.
        docs: The documentation to test against; defaults to `load_schema()`.

    Returns:
        How many tests ran, and the failures (severity error) and warnings (severity warn).
    """
    docs = load_schema() if docs is None else docs
    tested = [doc for doc in docs.values() if doc.layer in layout.LAYERS]
    report = DataTestReport()
    with open_executor(pipeline_or_sql_client, dataset_name) as ex:
        dataset = dataset_name or ex.dataset_name or layout.DEFAULT_DATASET
        used = dialect or ex.dialect
        qualified = quote(dataset)
        if used == "duckdb":
            qualified = f"{quote(str(ex.execute('SELECT current_database()')[0][0]))}.{qualified}"
        name_of = {doc.name: f"{qualified}.{quote(doc.name)}" for doc in tested}
        for doc in tested:
            checks: list[tuple[DataTest, str | None]] = [(test, None) for test in doc.tests]
            checks += [(test, column.name) for column in doc.columns.values() for test in column.tests]
            for test, column in checks:
                report.tests_run += 1
                failure = _run_one(ex, used, doc, test, column, name_of)
                if failure is not None:
                    (report.failures if failure.severity == "error" else report.warnings).append(failure)
    return report
