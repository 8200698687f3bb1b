"""The demo's run: the bundled simulator loaded into ./woodpecker_demo.duckdb, end to end.

Every demo starts from scratch, so it replaces its DuckDB file — but only a file the demo created itself.
The demo marks its file with the table `main._woodpecker_demo` before it loads anything, and a file is
the demo's when it holds that marker and nothing but the demo's own dataset (`woodpecker` and dlt's
`woodpecker_staging`, written by the demo's pipeline alone). Anything else — a database `load` wrote
to, a text file, a directory — is refused with exit code 2 and left untouched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from simulator import Simulator, SimulatorConfig
from transforms.quoting import quote

from . import defaults
from .dlt_pipeline import make_pipeline
from .exit_codes import CliError, ExitCode
from .load_options import LoadOptions
from .report import execute_load

# The table that marks a DuckDB file as the demo's own (in the file's `main` schema).
MARKER_TABLE = "_woodpecker_demo"
# Schemas any DuckDB file has; the demo's file adds only its dataset and dlt's staging dataset.
BUILTIN_SCHEMAS = ("main", "information_schema", "pg_catalog")

FIRST_LOOK_SQL = """
SELECT *
FROM {dataset}.campaign_performance
ORDER BY replied DESC NULLS LAST, campaign_id
LIMIT 10
"""


def first_look(duckdb_path: str, dataset: str) -> str:
    """The top lines of `campaign_performance`, as a table of text."""
    with duckdb.connect(duckdb_path, read_only=True) as con:
        frame = con.sql(FIRST_LOOK_SQL.format(dataset=dataset)).df()
    wanted = [
        "campaign_name",
        "campaign_status",
        "enrolled",
        "contacted",
        "replied",
        "reply_rate",
        "bounce_rate",
        "interested",
    ]
    columns = [c for c in wanted if c in frame.columns] or list(frame.columns)
    return str(frame[columns].to_string(index=False))


def _not_the_demos(path: Path, dataset: str) -> str | None:
    """Why the existing `path` is not a file the demo created, or None when it is."""
    if path.is_symlink() or not path.is_file():
        return "it is not a regular file"
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            return "another process has it open"
        return "it is not a DuckDB database"
    with con:
        tables = con.sql(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        own = {dataset, f"{dataset}_staging"}
        foreign = sorted(
            {f"{schema}.{table}" for schema, table in tables if schema not in own} - {f"main.{MARKER_TABLE}"}
        )
        schemas = {
            schema
            for (schema,) in con.sql(
                "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
            ).fetchall()
        }
        if ("main", MARKER_TABLE) not in tables:
            return "it has no demo marker; a database the demo did not create"
        if foreign:
            return f"it holds tables the demo did not write ({', '.join(foreign[:3])})"
        if extra := sorted(schemas - own - set(BUILTIN_SCHEMAS)):
            return f"it holds schemas the demo did not write ({', '.join(extra[:3])})"
        state = f"{quote(dataset)}._dlt_pipeline_state"
        if (dataset, "_dlt_pipeline_state") in tables:
            names = {n for (n,) in con.sql(f"SELECT DISTINCT pipeline_name FROM {state}").fetchall()}
            if names - {defaults.DEMO_PIPELINE_NAME}:
                return "other pipelines have loaded into it (woodpecker-etl load?)"
    return None


def check_demo_target(duckdb_path: str, dataset: str = defaults.DATASET_NAME) -> None:
    """Refuse to replace anything but a DuckDB file the demo created itself.

    Raises:
        CliError: exit code 2, naming the file, the reason and the fix.
    """
    path = Path(duckdb_path)
    if not path.exists() and not path.is_symlink():
        return
    reason = _not_the_demos(path, dataset)
    if reason is not None:
        raise CliError(
            f"The demo will not overwrite {duckdb_path}: {reason}. Choose another --duckdb-path "
            f"(default {defaults.DEMO_DUCKDB_PATH}), or remove that file yourself if you no longer need it.",
            ExitCode.CONFIGURATION,
        )


def _start_file(duckdb_path: str) -> None:
    """Replace the demo's old file (checked by `check_demo_target`) by a new one holding only the marker."""
    path = Path(duckdb_path)
    path.unlink(missing_ok=True)
    Path(f"{duckdb_path}.wal").unlink(missing_ok=True)
    with duckdb.connect(duckdb_path) as con:
        con.execute(f"CREATE TABLE main.{MARKER_TABLE} (created_at TIMESTAMPTZ, note VARCHAR)")
        con.execute(
            f"INSERT INTO main.{MARKER_TABLE} VALUES (now(), 'written by woodpecker-etl demo; "
            "the demo replaces this file on its next run')"
        )


def run_demo(
    prospects: int, campaigns: int, seed: int, duckdb_path: str, pipelines_dir: str | None = None
) -> int:
    """Serve a generated account on 127.0.0.1, load it, print the summary and a first look."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    check_demo_target(duckdb_path)
    config = SimulatorConfig(seed=seed, prospects=prospects, campaigns=campaigns)
    with Simulator(config) as sim:
        print(
            f"Started the bundled Woodpecker simulator at {sim.base_url} "
            f"({prospects:,} prospects, {campaigns} campaigns, seed {seed})",
            file=sys.stderr,
        )
        options = LoadOptions(
            api_key=sim.api_key,
            base_url=sim.base_url,
            duckdb_path=duckdb_path,
            pipeline_name=defaults.DEMO_PIPELINE_NAME,
            pipelines_dir=pipelines_dir,
        )
        # Every demo starts from scratch so that it shows a full load.
        make_pipeline(options).drop()
        _start_file(duckdb_path)
        code = execute_load(options)
    if code == ExitCode.OK:
        print("\nFirst look at campaign_performance:")
        print(first_look(duckdb_path, options.dataset))
    return code
