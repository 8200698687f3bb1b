"""What the command line prints: progress while loading, the summary after, and `status`."""

from __future__ import annotations

import json
import shlex
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TextIO

from dlt.common.normalizers.naming.snake_case import NamingConvention

from sources.woodpecker import settings
from sources.woodpecker.progress import RunStats
from transforms.build import BuildReport

from . import defaults
from .dlt_pipeline import make_pipeline
from .exit_codes import ExitCode
from .load_options import LoadOptions, destination_label
from .load_run import LoadResult, incomplete_error, row_counts, run_load
from .many_accounts import AccountsRun
from .memory import release_free_memory, without_pandas

# Destinations whose loads are known to run without pandas (tested in tests/pipeline/test_memory.py).
PANDAS_FREE_DESTINATIONS = frozenset({"duckdb"})


def _fmt(n: int) -> str:
    return f"{n:,}"


def step(message: str) -> None:
    """Print the line of a step as it starts (`  → message`, on stderr); free what the last step left."""
    release_free_memory()
    print(f"  → {message}", file=sys.stderr, flush=True)


def execute_load(options: LoadOptions, summary_json: str | None = None) -> int:
    """Run a load with progress lines and print the summary (and write it as JSON if asked).

    Raises:
        CliError: the load failed, or left a table incomplete (`ExitCode.INCOMPLETE`, after the summary).
    """
    stats = RunStats()
    print(f"Loading Woodpecker into {options.destination} …", file=sys.stderr, flush=True)
    # A DuckDB load needs no pandas (pipelines/memory.py); other destinations' clients may.
    with without_pandas() if options.destination in PANDAS_FREE_DESTINATIONS else nullcontext():
        with progress_ticker(stats):
            result = run_load(options, stats, on_step=step)
        totals = row_counts(make_pipeline(options), defaults.SOURCE_TABLES)
        if summary_json:
            Path(summary_json).write_text(json.dumps(summary_record(options, result, totals), indent=2))
        error = incomplete_error(result)
        print(summary(options, result, totals))
    if error is not None:
        raise error
    return int(ExitCode.OK)


def progress_line(stats: RunStats) -> str:
    """One line with rows and requests per resource so far."""
    parts = []
    for resource, n_requests in stats.requests.items():
        rows = stats.rows.get(resource, 0)
        parts.append(f"{resource} {_fmt(rows)} rows/{_fmt(n_requests)} req")
    retries = f", {stats.retries} retries" if stats.retries else ""
    return f"  … {', '.join(parts) or 'starting'}{retries}"


@contextmanager
def progress_ticker(
    stats: RunStats, out: TextIO | None = None, interval: float = defaults.PROGRESS_INTERVAL_S
) -> Iterator[None]:
    """Print a progress line every `interval` seconds while the block runs (to stderr by default)."""
    stream = out or sys.stderr
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(interval):
            try:
                print(progress_line(stats), file=stream, flush=True)
            except (OSError, ValueError):  # the stream went away; progress is not worth failing for
                return

    thread = threading.Thread(target=tick, name="woodpecker-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)


def sql_dataset(dataset: str) -> str:
    """The dataset name as the destination stores it: dlt's snake_case naming (`my-data` → `my_data`)."""
    return str(NamingConvention().normalize_identifier(dataset))


def python_command() -> str:
    """The Python that runs this command, as a user can type it (`.venv/bin/python` inside the project)."""
    executable = Path(sys.executable)
    try:
        shown = str(executable.relative_to(Path.cwd()))
    except ValueError:
        shown = str(executable)
    return shlex.quote(shown)


def query_hint(options: LoadOptions, table: str = "prospects") -> str:
    """How to look at the loaded data; for DuckDB, with the Python that has the duckdb package."""
    dataset = sql_dataset(options.dataset)
    if options.destination == "filesystem" and table == "prospects":
        return (
            "The raw tables are Parquet files under the filesystem bucket_url; `woodpecker-etl transform "
            f"--destination filesystem` builds the engagement tables into {options.duckdb_path}."
        )
    if options.destination not in defaults.DUCKDB_FILE_DESTINATIONS:
        return f"Query it in {options.destination}: SELECT * FROM {dataset}.{table} LIMIT 10;"
    path = options.duckdb_path.replace("'", "''")
    return (
        "Query it:\n"
        f"  {python_command()} -c \"import duckdb; duckdb.connect('{path}', read_only=True)"
        f".sql('SELECT * FROM {dataset}.{table} LIMIT 10').show()\""
    )


def summary(options: LoadOptions, result: LoadResult, totals: Mapping[str, int]) -> str:
    """The text printed after a load; one that left a table incomplete says so first."""
    incomplete = result.incomplete
    done = "Loaded only part of" if incomplete else "Loaded"
    out = [f"{done} Woodpecker into {destination_label(options)} in {result.seconds:.1f} s"]
    for table, what in incomplete.items():
        out.append(f"  INCOMPLETE {table}: {what}; the next run reads it again")
    if result.finished_pending:
        out.append("  (first finished the load package an earlier run had left pending)")
    tables = [t for t in defaults.SOURCE_TABLES if t in result.rows_loaded or t in totals]
    tables += sorted(t for t in result.rows_loaded if t not in tables)
    rows = [(t, _fmt(result.rows_loaded.get(t, 0)), _fmt(totals[t]) if t in totals else "-") for t in tables]
    if rows:
        out.append(_table(rows, ("table", "loaded this run", "rows now")))
    out.append(
        f"  requests: {_fmt(result.requests)}  retries: {result.retries}  throttled: {result.throttled}"
    )
    odd = _data_quality_line(result.stats)
    if odd:
        out.append(odd)
    out.extend(f"  note: {note}" for note in _notes(result.stats))
    flagged = {t: n for t, n in result.reconciled.items() if n}
    if flagged:
        out.append("  marked deleted: " + ", ".join(f"{t} {_fmt(n)}" for t, n in flagged.items()))
    if result.models is not None:
        out.append(f"  engagement tables: {models_line(result.models)}")
    elif result.models_unchanged:
        out.append("  engagement tables: unchanged (the load changed nothing they read)")
    out.append(query_hint(options, "campaign_performance" if result.models is not None else "prospects"))
    return "\n".join(out)


def summary_record(options: LoadOptions, result: LoadResult, totals: Mapping[str, int]) -> dict[str, Any]:
    """The summary as a JSON-ready dict, for schedulers and benchmarks."""
    return {
        "destination": destination_label(options),
        "seconds": round(result.seconds, 3),
        "rows_loaded": dict(result.rows_loaded),
        "rows_now": dict(totals),
        "requests": result.requests,
        "requests_by_resource": dict(result.stats.requests),
        "retries": result.retries,
        "throttled": result.throttled,
        "finished_pending": result.finished_pending,
        "unparsed_values": dict(result.stats.unparsed),
        "rejected_records": dict(result.stats.rejected),
        "marked_deleted": dict(result.reconciled),
        "engagement_tables": _engagement_tables(result),
        "outcome": "incomplete" if result.incomplete else "complete",
        "incomplete": result.incomplete,
        "notes": _notes(result.stats),
        "clock_ahead_s": round(result.stats.clock_ahead_s, 3),
    }


def _engagement_tables(result: LoadResult) -> str:
    """`rebuilt`, `unchanged` (current, and the load changed nothing they read) or `not built`."""
    if result.models is not None:
        return "rebuilt"
    return "unchanged" if result.models_unchanged else "not built"


def _notes(stats: RunStats) -> list[str]:
    """Warnings of the run: the source's notes, and data timestamps far ahead of the API's clock."""
    notes = list(stats.notes)
    if stats.clock_ahead_s > settings.CLOCK_NOTE_S:
        notes.append(
            f"data timestamps run up to {stats.clock_ahead_s / 3600:.1f} h ahead of the API's clock "
            "(Date header); cursors follow the data's own timestamps"
        )
    return notes


def _data_quality_line(stats: RunStats) -> str:
    """A line about values kept raw and records skipped, or "" when the data was clean."""
    parts = []
    if stats.unparsed:
        kept = ", ".join(f"{t} {_fmt(n)}" for t, n in sorted(stats.unparsed.items()))
        parts.append(f"values kept raw in _unparsed (could not be typed): {kept}")
    if stats.rejected:
        skipped = ", ".join(f"{t} {_fmt(n)}" for t, n in sorted(stats.rejected.items()))
        parts.append(f"records kept in _rejected_records (no usable id): {skipped}")
    return "  " + "; ".join(parts) if parts else ""


def models_line(report: BuildReport) -> str:
    """One line about the engagement models that were rebuilt."""
    return f"{len(report.models)} models rebuilt in {report.seconds:.1f} s"


def status_text(
    options: LoadOptions,
    state: Mapping[str, Any],
    totals: Mapping[str, int],
    last: str | None,
    marts: str | None = None,
) -> str:
    """The text of `woodpecker-etl status` (`marts`: the line saying whether the marts are current)."""
    out = [f"Pipeline {options.pipeline_name} → {destination_label(options)}"]
    if last is None:
        out.append("  no run recorded in this working directory")
    else:
        out.append(f"  last run: {last}")
    resources = state.get("sources", {}).get("woodpecker", {}).get("resources", {})
    if resources:
        out.append("  cursors and state per resource:")
        for name, values in sorted(resources.items()):
            out.append(f"    {name}: {_state_line(values)}")
    for name, values in sorted(resources.items()):
        if isinstance(values, Mapping) and isinstance(values.get("scan"), Mapping):
            out.append(
                f"  resumable: {name}: a load stopped inside its scan; "
                "the next load goes on from its last chunk"
            )
    source_state = state.get("sources", {}).get("woodpecker", {})
    for table, what in sorted((source_state.get("incomplete") or {}).items()):
        out.append(f"  incomplete: {table} {what}; the next run reads it again")
    for key, value in sorted(source_state.items()):
        if key != "resources" and not isinstance(value, dict | list):
            out.append(f"  {key}: {value}")
    if totals:
        out.append(_table([(t, _fmt(n)) for t, n in totals.items()], ("table", "rows")))
    else:
        out.append("  no tables loaded yet")
    if marts:
        out.append(marts)
    return "\n".join(out)


def _state_line(values: Any) -> str:
    """One line for a resource's state: scalar values as they are, collections as their size."""
    if not isinstance(values, Mapping):
        return str(values)
    parts = []
    for key, value in sorted(values.items()):
        if isinstance(value, Mapping | list):
            parts.append(f"{key} [{len(value)} entries]")
        else:
            parts.append(f"{key} = {value}")
    return ", ".join(parts) or "-"


def accounts_summary(base: LoadOptions, run: AccountsRun) -> str:
    """The text printed after `load --accounts`: one row per account, then each failure's reason."""
    ok = len(run.outcomes) - len(run.failed)
    out = [
        f"Loaded {ok} of {len(run.outcomes)} accounts into {base.destination} in {run.seconds:.1f} s "
        f"({run.layout} layout, {run.workers} at a time)"
    ]
    rows = []
    for o in run.outcomes:
        loaded = sum(o.result.rows_loaded.values()) if o.result is not None else 0
        rows.append(
            (
                o.account,
                "ok" if o.ok else "FAILED",
                f"{o.seconds:.1f}",
                _fmt(loaded) if o.ok else "-",
                _fmt(o.stats.total_requests),
                o.dataset,
            )
        )
    out.append(_table(rows, ("account", "outcome", "seconds", "rows loaded", "requests", "dataset")))
    out.extend(_accounts_closing(run, "loaded"))
    return "\n".join(out)


def accounts_transform_summary(base: LoadOptions, run: AccountsRun) -> str:
    """The text printed after `transform --accounts`: one row per account, then each failure's reason."""
    ok = len(run.outcomes) - len(run.failed)
    out = [
        f"Rebuilt the engagement tables of {ok} of {len(run.outcomes)} accounts in {base.destination} "
        f"in {run.seconds:.1f} s ({run.layout} layout, {run.workers} at a time)"
    ]
    rows = []
    for o in run.outcomes:
        built = str(len(o.models.models) if o.models is not None else 0) if o.ok else "-"
        rows.append((o.account, "ok" if o.ok else "FAILED", f"{o.seconds:.1f}", built, o.dataset))
    out.append(_table(rows, ("account", "outcome", "seconds", "models", "dataset")))
    out.extend(_accounts_closing(run, "rebuilt"))
    return "\n".join(out)


def _accounts_closing(run: AccountsRun, done: str) -> list[str]:
    """The lines after the accounts' table: failures, cross-account views, how many failed."""
    out = [f"  {o.account}: {o.error}" for o in run.failed]
    if run.union_views:
        out.append(f"  all accounts: {len(run.union_views)} views with account_id in {run.union_dataset}")
    if run.union_error is not None:
        out.append(f"  cross-account views not refreshed: {run.union_error}")
    if run.failed:
        out.append(f"  {len(run.failed)} account(s) failed; the others are {done}.")
    return out


def accounts_record(base: LoadOptions, run: AccountsRun) -> dict[str, Any]:
    """The `load --accounts` summary as a JSON-ready dict."""
    accounts = {}
    for o in run.outcomes:
        accounts[o.account] = {
            "ok": o.ok,
            "seconds": round(o.seconds, 3),
            "dataset": o.dataset,
            "rows_loaded": dict(o.result.rows_loaded) if o.result is not None else {},
            "requests": o.stats.total_requests,
            "retries": o.stats.retries,
            "throttled": o.stats.throttled,
            "error": str(o.error) if o.error is not None else None,
            "exit_code": int(o.error.code) if o.error is not None else 0,
        }
    return {
        "destination": base.destination,
        "layout": run.layout,
        "workers": run.workers,
        "seconds": round(run.seconds, 3),
        "accounts": accounts,
        "union_dataset": run.union_dataset,
        "union_views": list(run.union_views),
        "exit_code": int(run.exit_code()),
    }
