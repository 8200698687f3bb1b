"""Build the engagement models inside the destination, atomically.

Every model is first written as `<name>__build` (in dependency order, each reading the other models'
`__build` objects). Only when all of them exist are the published objects replaced, in one
transaction: old objects dropped, `__build` tables renamed, views re-created on the published names.
Readers never see a half-built set, and a failed build leaves the previous tables untouched.

Example:
    >>> report = build_models(pipeline)              # dlt pipeline, DuckDB or Postgres
    >>> report.rows_per_mart["campaign_performance"]
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import layout
from .catalog import Model, load_models, render
from .connection import Executor, Target, open_executor
from .dialects import to_dialect
from .information_schema import catalog_view
from .inputs import SourceInputs, source_inputs
from .quoting import literal, quote, value_literal
from .reads import ref_columns

# DuckDB while it builds the models: capped like a load (pipelines/defaults.py: DUCKDB_LOAD_CONFIG), so a
# build's joins over millions of memberships stream and spill to the temporary directory next to the
# database instead of taking up to 80 % of the machine's memory (DuckDB's default) and keeping it until
# the process ends. One thread: each further thread adds its own hash tables and buffers. A build that
# runs out of memory under the cap is run again once with DuckDB's defaults (`build_models`). The cost
# in build time is measured in docs/performance.md ("Peak memory of a whole account").
DUCKDB_BUILD_LIMITS: dict[str, str] = {"memory_limit": "'128MB'", "threads": "1"}
# What DuckDB says when an operator cannot get the memory it needs under its limit.
_OUT_OF_MEMORY = "Out of Memory Error"


class BuildError(RuntimeError):
    """A model failed to build; the published tables are unchanged.

    Attributes:
        model: Name of the model that failed (None when the final swap failed).
    """

    def __init__(self, message: str, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


@dataclass
class BuildReport:
    """What a build did.

    Attributes:
        dataset_name: Dataset (schema) the models were built in.
        dialect: SQL dialect used.
        models: Models built, in build order.
        rows_per_mart: Rows in each published mart after the build.
        seconds: Wall time of the whole build.
        model_seconds: Wall time per model (its `__build` statement).
        publish_seconds: Wall time of the transaction that replaces the published objects.
        missing_tables: Raw tables that did not exist and were read as empty.
        absent_optional_tables: Optional raw tables (webhook events) that did not exist, read as empty.
        missing_columns: Raw table → columns that did not exist and were read as NULL.
    """

    dataset_name: str
    dialect: str
    models: list[str] = field(default_factory=list)
    rows_per_mart: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    model_seconds: dict[str, float] = field(default_factory=dict)
    publish_seconds: float = 0.0
    missing_tables: list[str] = field(default_factory=list)
    absent_optional_tables: list[str] = field(default_factory=list)
    missing_columns: dict[str, list[str]] = field(default_factory=dict)


class _Build:
    """One build run against one executor."""

    def __init__(
        self,
        executor: Executor,
        dataset_name: str,
        dialect: str,
        models: Sequence[Model],
        capped: bool = True,
    ) -> None:
        self.ex = executor
        self.capped = capped
        self.dataset = dataset_name
        self.dialect = dialect
        self.models = list(models)
        self.qualified = quote(dataset_name)
        self.view_prefix = f"{self.qualified}."
        self.view_inputs = SourceInputs()
        self.kind = {m.name: m.materialization(dialect) for m in self.models}
        # On the view-cache dialects the view models of a build live in the temporary schema: computed
        # once into a temporary table (holding only the columns its readers name) when several models
        # read them, else a temporary view that the one reader inlines (no copy at all).
        self.temporary: dict[str, str] = {}
        if dialect in layout.VIEW_CACHE_DIALECTS:
            readers = Counter(ref for m in self.models for ref in m.refs)
            for name, kind in self.kind.items():
                if kind == "view":
                    self.temporary[name] = "table" if readers[name] > 1 else "view"

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        return self.ex.execute(to_dialect(statement, self.dialect))

    def prepare(self) -> SourceInputs:
        """Create the dataset if needed, qualify names, read which raw tables and columns exist."""
        self.sql(f"CREATE SCHEMA IF NOT EXISTS {self.qualified}")
        if self.dialect == "duckdb":
            # A DuckDB file named like the dataset makes `dataset.table` ambiguous; name the catalog.
            catalog = self.ex.execute("SELECT current_database()")[0][0]
            self.qualified = f"{quote(str(catalog))}.{quote(self.dataset)}"
        rows = self.ex.execute(f"SELECT table_name, column_name, data_type FROM {self.catalogue('columns')}")
        existing: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            existing.setdefault(str(table).lower(), {})[str(column).lower()] = str(data_type)
        # Published DuckDB views name their inputs without catalog and schema: DuckDB binds them in the
        # view's own schema, so the views keep working when the file is renamed or attached under an alias.
        self.view_prefix = "" if self.dialect == "duckdb" else f"{self.qualified}."
        self.view_inputs = source_inputs(self.view_prefix.rstrip("."), existing)
        return source_inputs(self.qualified, existing)

    def object_types(self) -> dict[str, str]:
        """Existing objects of the dataset: name → `view` or `table`."""
        rows = self.ex.execute(f"SELECT table_name, table_type FROM {self.catalogue('tables')}")
        return {
            str(name).lower(): ("view" if "VIEW" in str(kind).upper() else "table") for name, kind in rows
        }

    def catalogue(self, view: str) -> str:
        """`FROM` and `WHERE` of an `information_schema` view (`tables`, `columns`) for the dataset."""
        return catalog_view(view, self.dataset, self.dialect)

    def name(self, model_name: str, building: bool) -> str:
        """Qualified name of a model's published object, or of what the current build writes."""
        if not building:
            return f"{self.qualified}.{quote(model_name)}"
        if model_name in self.temporary:
            return f"{layout.VIEW_CACHE_SCHEMA}.{quote(model_name + layout.BUILD_SUFFIX)}"
        return f"{self.qualified}.{quote(model_name + layout.BUILD_SUFFIX)}"

    def body(self, model: Model, inputs: SourceInputs) -> str:
        """The model's SELECT as this build runs it (reading the other models' build objects)."""
        return render(model, lambda ref: self.name(ref, True), inputs.sql)

    def view_body(self, model: Model) -> str:
        """The model's SELECT as a published view stores it (reading the published objects)."""
        return render(model, lambda ref: f"{self.view_prefix}{quote(ref)}", self.view_inputs.sql)

    def drop(self, name: str, kind: str) -> None:
        self.sql(f"DROP {kind.upper()} IF EXISTS {self.qualified}.{quote(name)}")

    def drop_build_objects(self) -> None:
        """Remove `__build` objects left by this or an interrupted earlier build."""
        present = self.object_types()
        for model in reversed(self.models):
            build_name = model.name + layout.BUILD_SUFFIX
            if build_name in present:
                self.drop(build_name, present[build_name])
        self.drop_cache()

    def drop_cache(self) -> None:
        for model in reversed(self.models):
            if model.name in self.temporary:
                self.sql(f"DROP {self.temporary[model.name].upper()} IF EXISTS {self.name(model.name, True)}")

    def cached_columns(self) -> dict[str, list[str]]:
        """Per model cached in a temporary table: the columns its readers name (absent: all of them)."""
        keep: dict[str, list[str]] = {}
        for name in (n for n, kind in self.temporary.items() if kind == "table"):
            columns: set[str] = set()
            for reader in (m for m in self.models if name in m.refs):
                read = ref_columns(reader)[name]
                if read is None:
                    break
                columns |= read
            else:
                if columns:
                    keep[name] = sorted(columns)
        return keep

    def build(self, inputs: SourceInputs, report: BuildReport) -> None:
        keep = self.cached_columns()
        for model in self.models:
            kind = self.kind[model.name].upper()
            if model.name in self.temporary:
                kind = f"TEMPORARY {self.temporary[model.name].upper()}"
            body = self.body(model, inputs)
            if model.name in keep:
                body = f"SELECT {', '.join(quote(c) for c in keep[model.name])} FROM ({body}) AS cached"
            started = time.perf_counter()
            try:
                self.sql(f"CREATE {kind} {self.name(model.name, True)} AS {body}")
            except Exception as exc:
                raise BuildError(f"model {model.name} failed: {exc}", model.name) from exc
            report.model_seconds[model.name] = time.perf_counter() - started
            report.models.append(model.name)

    def swap(self) -> None:
        """Replace the published objects by the `__build` ones in one transaction."""
        with self.ex.transaction():
            present = self.object_types()
            for model in reversed(self.models):
                if self.kind[model.name] == "view" and model.name not in self.temporary:
                    self.drop(model.name + layout.BUILD_SUFFIX, "view")
            for model in reversed(self.models):
                if model.name in present:
                    self.drop(model.name, present[model.name])
            for model in self.models:
                if self.kind[model.name] == "view":
                    self.sql(f"CREATE VIEW {self.name(model.name, False)} AS {self.view_body(model)}")
                else:
                    self.sql(f"ALTER TABLE {self.name(model.name, True)} RENAME TO {quote(model.name)}")

    def count_marts(self, report: BuildReport) -> None:
        for model in self.models:
            if model.layer == "marts":
                rows = self.sql(f"SELECT COUNT(*) FROM {self.name(model.name, False)}")
                report.rows_per_mart[model.name] = int(rows[0][0])

    @contextlib.contextmanager
    def session_settings(self) -> Iterator[None]:
        """Apply `layout.BUILD_SESSION_SETTINGS` for the build; restore the caller's values after."""
        wanted: dict[str, str | None] = dict(layout.BUILD_SESSION_SETTINGS.get(self.dialect, {}))
        if self.dialect == "duckdb":  # the cap, or DuckDB's defaults (None: RESET) when run again without
            wanted.update(
                {name: value if self.capped else None for name, value in DUCKDB_BUILD_LIMITS.items()}
            )
        previous = {
            name: self.ex.execute(f"SELECT current_setting({literal(name)})")[0][0] for name in wanted
        }
        for name, wanted_value in wanted.items():
            self.ex.execute(f"RESET {name}" if wanted_value is None else f"SET {name} = {wanted_value}")

        def restore() -> None:
            for name, value in previous.items():
                self.ex.execute(f"SET {name} = {value_literal(value)}")

        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # the build's error matters more
                restore()
            raise
        restore()

    def run(self) -> BuildReport:
        started = time.perf_counter()
        report = BuildReport(self.dataset, self.dialect)
        inputs = self.prepare()
        report.missing_tables = list(inputs.missing_tables)
        report.absent_optional_tables = list(inputs.absent_optional_tables)
        report.missing_columns = dict(inputs.missing_columns)
        self.drop_build_objects()
        with self.session_settings():
            try:
                self.build(inputs, report)
                started_swap = time.perf_counter()
                try:
                    self.swap()
                except Exception as exc:
                    raise BuildError(f"publishing the built models failed: {exc}") from exc
                report.publish_seconds = time.perf_counter() - started_swap
                self.drop_cache()
            except BaseException:
                self._cleanup_quietly()
                raise
        self.count_marts(report)
        report.seconds = time.perf_counter() - started
        return report

    def _cleanup_quietly(self) -> None:
        with contextlib.suppress(Exception):  # the original error matters more than a failed cleanup
            self.drop_build_objects()


def build_models(
    pipeline_or_sql_client: Target,
    dataset_name: str | None = None,
    dialect: str | None = None,
    models: Sequence[Model] | None = None,
) -> BuildReport:
    """Build (or rebuild) every engagement model inside the destination.

    Args:
        pipeline_or_sql_client: A dlt pipeline, a dlt SQL client (`pipeline.sql_client()`), a DuckDB
            connection or a psycopg2 connection (switched to autocommit).
        dataset_name: Dataset (schema) holding the raw tables; the models are written next to them.
            Defaults to the pipeline's / client's dataset, else `woodpecker`.
        dialect: sqlglot dialect of the destination; defaults to what the connection reports.
        models: Models to build; defaults to every file under `transforms/models`.

    Returns:
        What was built, rows per mart and timings.

    Raises:
        BuildError: A model or the final swap failed; the previously published objects are intact.
    """
    chosen = list(models) if models is not None else load_models()
    with open_executor(pipeline_or_sql_client, dataset_name) as executor:
        dataset = dataset_name or executor.dataset_name or layout.DEFAULT_DATASET
        chosen_dialect = dialect or executor.dialect
        try:
            return _Build(executor, dataset, chosen_dialect, chosen).run()
        except BuildError as exc:
            if chosen_dialect != "duckdb" or not _out_of_memory(exc):
                raise
        # Too little memory under the cap for this account's models: once more with DuckDB's defaults.
        return _Build(executor, dataset, chosen_dialect, chosen, capped=False).run()


def _out_of_memory(exc: BaseException | None) -> bool:
    """Whether DuckDB's out-of-memory error is `exc` or one of its causes."""
    while exc is not None:
        if _OUT_OF_MEMORY in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
