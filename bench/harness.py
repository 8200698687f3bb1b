"""What the benchmark scenarios share: a scenario's shape, the simulator in its own process, a measured run.

`bench.run` and `bench.accounts_bench` build their scenarios from these; results go under `RESULTS`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
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


def _parents() -> dict[int, int]:
    """Parent pid of every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # ended while we looked
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after its last ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants alive now, summed (Linux /proc)."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_bytes(pid)
        todo.extend(children.get(pid, ()))
    return total


class TreeRssSampler:
    """Samples the summed RSS of a process tree every `interval` seconds in a background thread.

    `peak_mb` is the largest sum seen; `by_label` the largest per label, where `label` is whatever the
    caller set last (e.g. the step the client announced). A spike shorter than the interval can be
    missed, so `measured` also takes the kernel's own peak of the largest single process (`wait4`).
    """

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root = root
        self.interval = interval
        self.label = "start-up"
        self.peak_mb = 0.0
        self.by_label: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            mb = tree_rss_bytes(self.root) / 2**20
            self.peak_mb = max(self.peak_mb, mb)
            self.by_label[self.label] = max(self.by_label.get(self.label, 0.0), mb)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


STEP_PREFIX = "  → "


def measured(
    cmd: list[str], env: dict[str, str] | None = None, steps: dict[str, float] | None = None
) -> tuple[float, float, float, int]:
    """Run a command; return wall seconds, CPU seconds, peak RSS in MB and the exit code.

    Peak RSS is that of the client's whole process tree: the summed RSS of the processes alive at once,
    sampled every 50 ms, or the kernel's peak of the largest single one (`wait4`) if that is higher.
    CPU seconds include the children the client waited for. When `steps` is given it receives the
    tree's peak per step, a step starting with each `  → …` line the client prints on stderr.
    """
    env = dict(env or os.environ, RUNTIME__DLTHUB_TELEMETRY="false")
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    tail: list[str] = []
    with TreeRssSampler(proc.pid) as sampler:

        def read_stderr() -> None:  # read as it comes, so a chatty client never blocks on a full pipe
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith(STEP_PREFIX):
                    sampler.label = line[len(STEP_PREFIX) :].strip()
                tail.append(line)
                del tail[:-40]

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)
        reader.join(timeout=5)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write("".join(tail)[-2000:])
    if steps is not None:
        steps.update({label: round(mb, 1) for label, mb in sampler.by_label.items()})
    peak = max(sampler.peak_mb, usage.ru_maxrss / 1024)
    return wall, usage.ru_utime + usage.ru_stime, peak, proc.returncode


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
