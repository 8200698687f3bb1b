"""What the benchmark scenarios share: a scenario's shape, the simulator in its own process, a measured run.

`bench.run` and `bench.accounts_bench` build their scenarios from these; results go under `RESULTS`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

RESULTS = Path(__file__).parent / "results"


@dataclass
class Scenario:
    """One benchmark scenario."""

    name: str
    prospects: int
    campaigns: int = 10
    avg_memberships: float = 3.0
    latency_ms: float = 0.0
    resources: str | None = "prospects"
    incremental_fraction: float | None = None
    peer: bool = True
    transform: bool = False
    notes: str = ""


class SimProcess:
    """The simulator running in a child process, steered by JSON lines."""

    def __init__(self, scenario: Scenario, seed: int | None = None, api_key: str | None = None) -> None:
        cmd = [
            sys.executable,
            "-m",
            "bench.sim_server",
            f"--prospects={scenario.prospects}",
            f"--campaigns={scenario.campaigns}",
            f"--avg-memberships={scenario.avg_memberships}",
            f"--latency-ms={scenario.latency_ms}",
            *([f"--seed={seed}"] if seed is not None else []),
            *([f"--api-key={api_key}"] if api_key is not None else []),
        ]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process ended unexpectedly")
        result: dict[str, Any] = json.loads(line)
        return result

    def ask(self, cmd: str, **kwargs: Any) -> dict[str, Any]:
        """Send one command and return the answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kwargs}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        """Stop the simulator."""
        try:
            self.ask("quit")
        finally:
            self.proc.wait(timeout=60)


def measured(cmd: list[str]) -> tuple[float, float, float, int]:
    """Run a command; return wall seconds, CPU seconds, peak RSS in MB and the exit code."""
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def db_checksum(path: Path, live_filter: bool) -> dict[str, int]:
    """The same checksum as the simulator's, computed from the loaded table."""
    where = "WHERE deleted_at IS NULL" if live_filter else ""
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.sql(
            "SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(SUM(CAST(epoch(updated) AS BIGINT)), 0) "
            f"FROM woodpecker.prospects {where}"
        ).fetchone()
    assert row is not None
    return {"rows": int(row[0]), "id_sum": int(row[1]), "updated_sum": int(row[2])}


def client_cmd(client: str, sim: SimProcess, scenario: Scenario, workdir: Path) -> list[str]:
    """The command line of one client run."""
    common = [
        "--base-url",
        sim.info["base_url"],
        "--api-key",
        sim.info["api_key"],
        "--duckdb-path",
        str(workdir / "db.duckdb"),
        "--pipelines-dir",
        str(workdir / "pipelines"),
    ]
    resources = ["--resources", scenario.resources] if scenario.resources else []
    if client == "ours":
        transform = [] if scenario.transform else ["--no-transform"]
        return [sys.executable, "-m", "pipelines.cli", "load", *common, *resources, *transform]
    return [sys.executable, "-m", "bench.baselines.peer_rest_api", *common, *resources]
