"""Run one load: source → destination → reconciliation → models; rebuild and test the models."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dlt
import duckdb
from dlt.common.typing import TRefreshMode
from dlt.extract.source import DltSource

from sources.woodpecker import woodpecker_source
from sources.woodpecker.chunks import LoadChunks
from sources.woodpecker.progress import RunStats
from sources.woodpecker.reconcile import apply_reconciliation
from transforms.build import BuildReport, build_models
from transforms.connection import client_dialect
from transforms.information_schema import dataset_columns
from transforms.model_tests import DataTestReport, run_model_tests
from transforms.quoting import literal

from . import defaults
from .account_column import ACCOUNT_ID, with_account_column
from .chunked_load import load_in_chunks
from .destination_state import adopt_local_state
from .dlt_pipeline import make_pipeline
from .error_messages import translate_error
from .exit_codes import CliError, ExitCode
from .lake import build_lake_models, is_lake
from .load_options import LoadOptions
from .lock import pipeline_lock, wait_for_duckdb_file
from .marts_state import (
    Fingerprint,
    MartsState,
    built_current,
    fingerprint_of,
    inputs_fingerprint,
    keep_current,
    mark_current,
    mark_stale,
    read_marts_state,
)
from .steps import StepAnnouncer


@dataclass
class LoadResult:
    """What one load did, for the summary."""

    rows_loaded: dict[str, int]
    requests: int
    retries: int
    throttled: int
    seconds: float
    finished_pending: bool
    reconciled: dict[str, int]
    models: BuildReport | None
    stats: RunStats
    # True when the marts were current and the load changed nothing they read, so they were not rebuilt.
    models_unchanged: bool = False

    @property
    def incomplete(self) -> dict[str, str]:
        """Tables that hold fewer rows than the API counted, with what was read (empty: complete)."""
        return self.stats.incomplete()


def incomplete_error(result: LoadResult) -> CliError | None:
    """The one-line error of a load that left a table incomplete, or None when every table is complete."""
    incomplete = result.incomplete
    if not incomplete:
        return None
    tables = "; ".join(f"{table} {what}" for table, what in incomplete.items())
    return CliError(
        f"Incomplete load: {tables}. The rows read are loaded and the next run reads the rest again.",
        ExitCode.INCOMPLETE,
    )


def build_source(options: LoadOptions, stats: RunStats, chunks: LoadChunks | None = None) -> DltSource:
    """Create the Woodpecker source, narrowed to the requested resources (one chunk of `chunks`)."""
    kwargs: dict[str, Any] = dict(options.source_options)
    if options.api_key:
        kwargs["api_key"] = options.api_key
    if options.base_url:
        kwargs["base_url"] = options.base_url
    if options.company_id is not None:
        kwargs["company_id"] = options.company_id
    if options.reconcile is not None:
        kwargs["reconcile"] = options.reconcile
    source = woodpecker_source(run_stats=stats, chunks=chunks, **kwargs)
    if options.resources:
        known = set(source.resources.keys())
        unknown = [name for name in options.resources if name not in known]
        if unknown:
            raise CliError(
                f"Unknown resource(s) {', '.join(unknown)}. Choose from: {', '.join(sorted(known))}.",
                ExitCode.CONFIGURATION,
            )
        source = source.with_resources(*options.resources)
    if options.account_id is not None:
        source = with_account_column(source, options.account_id)
    return source


@contextmanager
def _translated(api_key: str | None) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        raise translate_error(exc, api_key) from None


def run_load(
    options: LoadOptions,
    stats: RunStats | None = None,
    on_step: Callable[[str], None] | None = None,
    load_gate: AbstractContextManager[Any] | None = None,
) -> LoadResult:
    """Run one load and return what it did.

    A load package left pending by an earlier, interrupted run is finished first, then the new
    changes are extracted and loaded, so one command always brings the destination up to date. The
    pipeline's lock (`pipelines/lock.py`) is held throughout: a second run of the same pipeline is
    refused while this one works.

    Args:
        options: What to load and where.
        stats: Counters shown while the load runs.
        on_step: Called with a line as each step starts.
        load_gate: Held while the destination is written (load, reconciliation, models); extraction
            and normalisation run outside it. Several accounts loading at once share one gate when
            their destination takes one writer at a time.

    Raises:
        CliError: with a one-line message and the exit code to use.
    """
    stats = stats or RunStats()
    say = on_step or (lambda _msg: None)
    started = time.monotonic()
    with ExitStack() as stack:
        stack.enter_context(_translated(options.api_key))
        stack.enter_context(pipeline_lock(options.pipelines_dir, options.pipeline_name))
        if options.destination in defaults.DUCKDB_FILE_DESTINATIONS:
            wait_for_duckdb_file(options.duckdb_path, options.lock_timeout, say)
        pipeline = adopt_local_state(make_pipeline(options), options)
        # The marts are marked stale as a load step starts, before it drops or writes any raw table; a
        # run that fails earlier (extraction) leaves the destination untouched.
        # (The column layout's marts live in other datasets and are not tracked.)
        track = options.account_id is None
        reason = _stale_reason(options)
        # Marts current before this load, and what they were built from: kept as they are when the load
        # changes nothing the models read. Read in the background while the extraction waits for the
        # API; every load step waits for it before it writes (`before_load`).
        before: Future[tuple[MartsState | None, Fingerprint | None]] | None = None
        if track and options.transform:
            reader = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="woodpecker-marts-before"))
            before = reader.submit(_marts_before, pipeline, options.full_refresh)

        def before_load() -> None:
            if before is not None:
                before.result()
            if track:
                mark_stale(pipeline, reason)

        pipeline.collector = StepAnnouncer(say, before_load)
        build_source(options, stats)  # refuses unknown resources before anything runs
        gate = load_gate if load_gate is not None else nullcontext()
        finished_pending = False
        if pipeline.has_pending_data:
            say("Finishing the load package left pending by an earlier run")
            with gate:
                pipeline.run()
            finished_pending = True
        run_args: dict[str, Any] = {}
        if options.destination in defaults.LOADER_FILE_FORMATS:
            run_args["loader_file_format"] = defaults.LOADER_FILE_FORMATS[options.destination]
        if options.full_refresh:
            mode: TRefreshMode = "drop_resources" if options.resources else "drop_sources"
            run_args["refresh"] = mode
        # Committed chunk by chunk, so a killed load resumes where its last chunk ended.
        rows = load_in_chunks(
            pipeline, lambda chunks: build_source(options, stats, chunks), stats, run_args, load_gate
        )
        with gate:
            if load_gate is not None:
                pipeline.load().raise_on_failed_jobs()
            reconciled: dict[str, int] = {}
            if not is_lake(pipeline):  # Parquet files cannot be updated in place
                say("Applying reconciliation")
                scope = {ACCOUNT_ID: options.account_id} if options.account_id is not None else None
                reconciled = apply_reconciliation(pipeline, scope)
            models = None
            marts_before, inputs_before = before.result() if before is not None else (None, None)
            # Only the tables this load wrote to (rows loaded, rows flagged deleted) can have changed.
            written = {table for counts in (rows, reconciled) for table, n in counts.items() if n}
            unchanged = (
                inputs_before is not None
                and not finished_pending
                and inputs_fingerprint(pipeline, written) == fingerprint_of(inputs_before, written)
            )
            if unchanged and marts_before is not None:
                keep_current(pipeline, marts_before)
            elif options.transform:
                say("Building engagement tables")
                models = build_engagement_models(pipeline, options.duckdb_path)
    return LoadResult(
        rows_loaded=rows,
        requests=stats.total_requests,
        retries=stats.retries,
        throttled=stats.throttled,
        seconds=time.monotonic() - started,
        finished_pending=finished_pending,
        reconciled=reconciled,
        models=models,
        stats=stats,
        models_unchanged=unchanged,
    )


def _marts_before(pipeline: dlt.Pipeline, full_refresh: bool) -> tuple[MartsState | None, Fingerprint | None]:
    """The marts' recorded state, and the fingerprint of their inputs when they are current (else None)."""
    marts = read_marts_state(pipeline)
    if marts is None or not built_current(marts) or full_refresh:
        return marts, None
    return marts, inputs_fingerprint(pipeline)


def _stale_reason(options: LoadOptions) -> str:
    """Why the marts are marked stale when this load starts (what the next `status` shows if it stops)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if options.full_refresh:
        return f"a full refresh began at {now} and did not finish"
    if not options.transform:
        return f"a load with --no-transform began at {now}"
    return f"a load began at {now} and did not finish"


def build_engagement_models(pipeline: dlt.Pipeline, duckdb_path: str = defaults.DUCKDB_PATH) -> BuildReport:
    """Rebuild the engagement tables inside the destination (a lake's: in the DuckDB file `duckdb_path`).

    A finished rebuild is recorded (`pipelines/marts_state.py`): the marts match the raw tables again.
    """
    if is_lake(pipeline):
        return build_lake_models(pipeline, duckdb_path)
    with pipeline.sql_client() as client:  # DuckDB builds under its own cap (transforms/build.py)
        report = build_models(client)
    mark_current(pipeline)
    return report


def test_engagement_models(pipeline: dlt.Pipeline, duckdb_path: str = defaults.DUCKDB_PATH) -> DataTestReport:
    """Run the models' schema.yml tests where `build_engagement_models` built them (`transform --test`)."""
    if is_lake(pipeline):
        with duckdb.connect(duckdb_path) as conn:
            return run_model_tests(conn, pipeline.dataset_name)
    return run_model_tests(pipeline)


def row_counts(
    pipeline: dlt.Pipeline, tables: tuple[str, ...], account_id: str | None = None
) -> dict[str, int]:
    """Rows per table in the destination (live rows only where the table tracks deletes).

    Args:
        pipeline: The pipeline whose dataset is counted.
        tables: The tables to count; those not loaded are left out.
        account_id: Count only this account's rows (the `column` account layout's shared tables).
    """
    counts: dict[str, int] = {}
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    with pipeline.sql_client() as client:
        if schema is not None:
            declared = {t: list(schema.get_table_columns(t)) for t in tables if t in schema.tables}
        else:  # no local schema (state read from the destination only): ask the database
            found = dataset_columns(client.execute_sql, client.dataset_name, client_dialect(client))
            declared = {t: found[t] for t in tables if t in found}
        for table in tables:
            columns = declared.get(table)
            if not columns:
                continue
            name = client.make_qualified_table_name(table)
            conditions = ["deleted_at IS NULL"] if "deleted_at" in columns else []
            if account_id is not None:
                conditions.append(f"{ACCOUNT_ID} = {literal(account_id)}")
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            try:
                result = client.execute_sql(f"SELECT COUNT(*) FROM {name}{where}")
            except Exception:  # table declared but never created in the destination
                continue
            counts[table] = int(result[0][0]) if result else 0
    return counts
