"""Key-leak scan: run the CLI at DEBUG with distinctive keys, then look for them everywhere.

Runs, each as a child process with `-vv` and `RUNTIME__LOG_LEVEL=DEBUG`: a full load with the key on
the command line, a load with the key in `SOURCES__WOODPECKER__API_KEY`, `transform`, `status`, a load
with a wrong (also distinctive) key that gets 401, and a load that gives up on API faults. Then the key
and the wrong key are searched in every run's stdout and stderr, in every file under the work dir
(pipelines dir with traces, load packages and state; the DuckDB file's bytes) and in every column of
every table of the DuckDB file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from pipelines.exit_codes import ExitCode

from .common import NAME, CliRun, Size, dest_args, load_args, run_child, start_simulator

KEY = "wpk-LEAKCHECK-3f9a1c7e5b2d4608"
WRONG_KEY = "wpk-WRONGKEY-8e1d2c3b4a596071"
DEBUG_ENV = {"RUNTIME__LOG_LEVEL": "DEBUG"}
SCAN_PROSPECTS = 400


@dataclass
class KeyScan:
    """Where the keys were found (empty when nowhere) and what the runs returned."""

    codes: dict[str, int] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    files_scanned: int = 0
    columns_scanned: int = 0
    debug_lines: int = 0


def scan_runs_and_files(seed: int, size: Size, workdir: Path) -> KeyScan:
    """Run the CLI at DEBUG in every way that touches the key, then search for both keys."""
    result = KeyScan()
    # a small account: the scan is about where data goes, not how much of it there is
    sim = start_simulator(seed, replace(size, prospects=SCAN_PROSPECTS), api_key=KEY)
    runs: dict[str, CliRun] = {}
    try:
        debug = ["-vv"]
        runs["load, key as flag"] = run_child([*debug, *load_args(sim, workdir)], DEBUG_ENV)
        sim.account.simulate(3_600)
        env_key = {**DEBUG_ENV, "SOURCES__WOODPECKER__API_KEY": KEY}
        runs["load, key in env"] = run_child(
            [*debug, "load", "--base-url", sim.base_url, "--reconcile", *dest_args(workdir)], env_key
        )
        runs["transform"] = run_child([*debug, "transform", *dest_args(workdir)], DEBUG_ENV)
        runs["status"] = run_child([*debug, "status", *dest_args(workdir)], DEBUG_ENV)
        runs["load, wrong key"] = run_child([*debug, *load_args(sim, workdir, key=WRONG_KEY)], DEBUG_ENV)
        sim.account.simulate(3_600)
        sim.faults.script(["unavailable"] * 6)
        runs["load, API gives up"] = run_child(
            [*debug, *load_args(sim, workdir)], {**DEBUG_ENV, "SOURCES__WOODPECKER__MAX_ATTEMPTS": "2"}
        )
    finally:
        sim.stop()
    for name, run in runs.items():
        result.codes[name] = run.code
        result.debug_lines += sum(1 for line in run.err.splitlines() if "DEBUG" in line)
        for key in (KEY, WRONG_KEY):
            if key in run.out or key in run.err:
                result.hits.append(f"output of {name}")
    for path in sorted(workdir.rglob("*")):
        if path.is_file():
            result.files_scanned += 1
            data = path.read_bytes()
            for key in (KEY, WRONG_KEY):
                if key.encode() in data:
                    result.hits.append(str(path.relative_to(workdir)))
    result.columns_scanned, hits = scan_database(workdir / f"{NAME}.duckdb", (KEY, WRONG_KEY))
    result.hits += hits
    return result


def scan_database(path: Path, keys: tuple[str, ...]) -> tuple[int, list[str]]:
    """Search every column of every table (cast to text) for any of `keys`; returns (columns, hits)."""
    hits: list[str] = []
    columns = 0
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.sql(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog')"
        ).fetchall()
        for schema, table, column in rows:
            columns += 1
            for key in keys:
                found = con.execute(
                    f'SELECT COUNT(*) FROM "{schema}"."{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?',
                    [f"%{key}%"],
                ).fetchone()
                if found and found[0]:
                    hits.append(f"{schema}.{table}.{column}")
    return columns, hits


EXPECTED_CODES = {
    "load, key as flag": ExitCode.OK,
    "load, key in env": ExitCode.OK,
    "transform": ExitCode.OK,
    "status": ExitCode.OK,
    "load, wrong key": ExitCode.AUTHENTICATION,
    "load, API gives up": ExitCode.API,
}
