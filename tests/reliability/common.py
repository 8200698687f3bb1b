"""Shared pieces of the reliability trials: sizes, the tally, running the CLI, snapshots and checks.

Every trial loads a simulated account with the real `woodpecker-etl load` (in this process through
`pipelines.cli.main`, or as a child process where it must be killed) into its own work dir, then checks
the result against the simulator's ground truth with the source tests' comparison helpers.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import duckdb
from dlt.common.versioned_state import decompress_state, json_decode_state

from pipelines.cli import main
from simulator import Simulator, SimulatorConfig
from tests.source.harness import Loader, assert_matches_truth

REPO_ROOT = Path(__file__).resolve().parents[2]
# The pipeline every trial loads: `Loader(sim, workdir, name=NAME)` attaches to what the CLI wrote.
NAME = "wp"
PIPELINE_NAME = f"woodpecker_{NAME}"
DATASET = "woodpecker"
# Fast retries: faults cost milliseconds, not the production back-off of seconds.
FAST_RETRIES = {
    "SOURCES__WOODPECKER__BACKOFF_FACTOR": "0.01",
    "SOURCES__WOODPECKER__REQUEST_TIMEOUT": "1.0",
}
SLOW_FAULT_S = 1.5
CITIES = ("Oslo", "Lima", "Łódź", "São Paulo")  # a `slow` answer arrives after the client's 1 s timeout


@dataclass(frozen=True)
class Size:
    """How many trials of each kind, on accounts of which size."""

    prospects: int
    campaigns: int
    fault_trials: int
    crash_trials: int
    live_trials: int


# `make test` runs SMALL (well under two minutes); `make soak` runs FULL.
SMALL = Size(prospects=1_500, campaigns=8, fault_trials=6, crash_trials=3, live_trials=1)
FULL = Size(prospects=1_500, campaigns=8, fault_trials=200, crash_trials=20, live_trials=10)


@dataclass
class Tally:
    """What a series of trials did; the soak prints it, the tests assert on it."""

    trials: int = 0
    faults_injected: int = 0
    retries: int = 0
    runs_completed: int = 0
    failed_cleanly: int = 0
    failed_otherwise: int = 0
    mismatches: int = 0
    duplicates: int = 0
    cursor_ahead: int = 0
    key_leaks: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Add another tally's counts (and problems) to this one."""
        for f in fields(self):
            if f.name == "problems":
                self.problems.extend(other.problems)
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def counts(self) -> dict[str, int]:
        """The counters by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "problems"}

    @property
    def clean(self) -> bool:
        """No mismatch, duplicate, cursor ahead of the data, leak or unclear failure."""
        return not (
            self.mismatches or self.duplicates or self.cursor_ahead or self.key_leaks or self.failed_otherwise
        )


@dataclass
class CliRun:
    """Exit code and output of one `woodpecker-etl` invocation."""

    code: int
    out: str
    err: str

    @property
    def last_error(self) -> str:
        """The last stderr line (where the CLI prints `error: …`)."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def start_simulator(seed: int, size: Size, **config: Any) -> Simulator:
    """A simulated account whose automatic events move `updated`, so every change is incremental."""
    settings: dict[str, Any] = {
        "seed": seed,
        "prospects": size.prospects,
        "campaigns": size.campaigns,
        "auto_bumps_updated": True,
        "fault_seed": seed,
        "slow_fault_s": SLOW_FAULT_S,
        **config,
    }
    return Simulator(SimulatorConfig(**settings)).start()


def load_args(sim: Simulator, workdir: Path, *extra: str, key: str | None = None) -> list[str]:
    """Arguments of `woodpecker-etl load` into the trial's DuckDB file and pipelines dir."""
    return ["load", "--base-url", sim.base_url, "--api-key", key or sim.api_key, *dest_args(workdir), *extra]


def dest_args(workdir: Path) -> list[str]:
    """Destination arguments shared by `load`, `transform` and `status`."""
    return [
        "--duckdb-path",
        str(workdir / f"{NAME}.duckdb"),
        "--pipelines-dir",
        str(workdir / "pipelines"),
        "--pipeline-name",
        PIPELINE_NAME,
    ]


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block (dlt reads its configuration from them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cli(args: list[str], env: Mapping[str, str] | None = None) -> CliRun:
    """Run `woodpecker-etl` in this process, capturing its output."""
    out, err = io.StringIO(), io.StringIO()
    settings = {**FAST_RETRIES, **(env or {})}
    with environment(settings), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return CliRun(code, out.getvalue(), err.getvalue())


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of a `woodpecker-etl` child process: this checkout's code, no telemetry, fast retries."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **FAST_RETRIES,
        **(extra or {}),
    }


def spawn_cli(args: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `woodpecker-etl` as a child process with piped, line-buffered text output."""
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "pipelines.cli", *args],
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def run_child(args: list[str], env: Mapping[str, str] | None = None, timeout: float = 180) -> CliRun:
    """Run `woodpecker-etl` as a child process to completion."""
    proc = spawn_cli(args, env)
    out, err = proc.communicate(timeout=timeout)
    return CliRun(proc.returncode, out, err)


# -- the account changes ---------------------------------------------------------------------------------


def mutate(
    sim: Simulator, rng: random.Random, deleted: set[int], changes: int = 12, deletions: bool = False
) -> None:
    """Seeded changes that an incremental load must pick up: edits, new prospects and enrolments, and
    campaign activity (sends, opens, clicks, replies, bounces); prospect deletions when `deletions`.

    Deleted prospect ids are added to `deleted`. Deletes are only seen by a reconciliation (and they
    change the vendor statistics of their campaigns unseen), so only trials that reconcile delete.
    """
    account = sim.account
    account.advance(rng.randint(300, 3_600))
    truth = sim.truth()
    prospect_ids = [int(i) for i in truth.prospects.id]
    campaign_ids = [int(i) for i in truth.campaigns.id]
    for _ in range(changes):
        action = rng.random()
        pid = rng.choice(prospect_ids)
        if pid in deleted:
            continue
        if action < 0.35:
            account.edit_prospect(pid, company=f"Edited {rng.randrange(10**6)}", city=rng.choice(CITIES))
        elif action < 0.55:
            new = account.add_prospects(rng.randint(1, 4))
            if campaign_ids:
                account.enroll(new[0], rng.choice(campaign_ids))
        elif action < 0.65 and deletions:
            account.delete_prospect(pid)
            deleted.add(pid)
        else:
            account.advance(rng.randint(60, 900))
    # Campaigns send; prospects open, click, reply and bounce. Time only moves with `simulate` from here:
    # `advance` would leave activity that falls due unapplied until the next `simulate`, which then
    # records it back-dated, before the cursor of a load that ran in between (no real account does that).
    account.simulate(rng.randint(1_800, 6 * 3_600) + rng.randint(60, 600))


# -- snapshots and checks ----------------------------------------------------------------------------------


def db_digest(workdir: Path) -> dict[str, tuple[int, str]]:
    """Rows and a content hash of every table in the trial's DuckDB file ({} when there is none)."""
    path = workdir / f"{NAME}.duckdb"
    if not path.exists():
        return {}
    digest: dict[str, tuple[int, str]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.sql(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in sorted(tables):
            rows = con.sql(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            text = "\n".join(sorted(repr(row) for row in rows))
            digest[f"{schema}.{table}"] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return digest


def local_state(workdir: Path) -> dict[str, Any]:
    """The pipeline's state file as last committed ({} before the first committed extract)."""
    path = workdir / "pipelines" / PIPELINE_NAME / "state.json"
    if not path.exists():
        return {}
    state: dict[str, Any] = json_decode_state(path.read_text())
    return state


def cursors(workdir: Path) -> str:
    """The source's committed state (cursors, scan records) as canonical JSON."""
    return json.dumps(local_state(workdir).get("sources", {}), sort_keys=True, default=str)


def pending_packages(workdir: Path) -> list[str]:
    """Load packages extracted or normalized but not yet loaded."""
    root = workdir / "pipelines" / PIPELINE_NAME
    found: list[str] = []
    for folder in ("normalize/extracted", "load/normalized", "load/loading"):
        path = root / folder
        if path.is_dir():
            found += [f"{folder}/{p.name}" for p in path.iterdir() if p.is_dir()]
    return found


def destination_sources_state(workdir: Path) -> dict[str, Any] | None:
    """The source state in the newest pipeline state stored in the destination (None when none is)."""
    path = workdir / f"{NAME}.duckdb"
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        exists = con.sql(
            "SELECT COUNT(*) FROM information_schema.tables "
            f"WHERE table_schema = '{DATASET}' AND table_name = '_dlt_pipeline_state'"
        ).fetchone()
        if not exists or not exists[0]:
            return None
        row = con.sql(
            f"SELECT state FROM {DATASET}._dlt_pipeline_state ORDER BY version DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return None
    sources: dict[str, Any] = decompress_state(row[0]).get("sources", {})
    return sources


def cursor_ahead_of_data(workdir: Path) -> bool:
    """True when the committed local cursors differ from those loaded with the data, and no pending
    package carries them.

    That is the one state a crash must never leave: the next run would start from cursors whose data
    was never loaded, and lose it.
    """
    local = local_state(workdir).get("sources") or {}
    if pending_packages(workdir):
        return False
    return local != (destination_sources_state(workdir) or {})


def duplicate_keys(loader: Loader) -> dict[str, int]:
    """Rows per source table whose primary key occurs more than once (deleted rows included)."""
    schema = loader.pipeline.default_schema
    found: dict[str, int] = {}
    with loader.pipeline.sql_client() as client:
        for table in schema.data_tables():
            name = table["name"]
            key = [c for c, col in table["columns"].items() if col.get("primary_key")]
            if not key:
                continue
            qualified = client.make_qualified_table_name(name)
            columns = ", ".join(key)
            rows = client.execute_sql(
                f"SELECT COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n FROM {qualified} "
                f"GROUP BY {columns} HAVING COUNT(*) > 1) AS d"
            )
            extra = int(rows[0][0]) if rows else 0
            if extra:
                found[name] = extra
    return found


def check_against_truth(sim: Simulator, workdir: Path, deleted: set[int], tally: Tally, label: str) -> None:
    """Compare every loaded table with the truth and count duplicate keys; record problems in `tally`."""
    loader = Loader(sim, workdir, name=NAME)
    try:
        assert_matches_truth(loader, deleted_prospects=deleted)
    except AssertionError as exc:
        tally.mismatches += 1
        tally.problems.append(f"{label}: differs from the truth: {str(exc)[:300]}")
    dups = duplicate_keys(loader)
    if dups:
        tally.duplicates += sum(dups.values())
        tally.problems.append(f"{label}: duplicate keys {dups}")
