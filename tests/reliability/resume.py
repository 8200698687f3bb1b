"""Kill-and-resume trials of chunked loads: SIGKILL a load after a seeded share of its requests.

A chunked load (`sources/woodpecker/chunks.py`) commits its rows and scan positions chunk by chunk. The
trial runs `woodpecker-etl load` as a child process against the simulator over real HTTP, kills it once
the simulator has served a seeded share of the requests a whole load needs, and runs one plain `load`
in this process. The tables must then equal the simulator's truth with no key twice and no live row
flagged deleted, and the two runs together may make only a bounded number of requests more than one
uninterrupted load: the chunk the kill interrupted, and the incremental reads of the resources that
had finished before it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from simulator import Simulator
from sources.woodpecker import settings

from .common import DATASET, NAME, Size, local_state, spawn_cli

# Small pages make many requests (and so many chunks) out of a small account.
PER_PAGE = 20
CHUNK_REQUESTS = 30
SIZE = Size(prospects=400, campaigns=4, fault_trials=0, crash_trials=0, live_trials=0)
# A no-change run's requests with one chunk of campaign ids (docs/source.md, "Request budget"): what
# the resumed load reads incrementally for resources the killed load had finished.
NO_CHANGE_REQUESTS = 11
# Beyond the interrupted chunk's budget: the pages it had requested ahead, and one page per resumed scan
# whose pages no longer align with the uninterrupted load's.
SLACK_REQUESTS = settings.PREFETCH_PAGES + 3


def chunk_env(chunk_requests: int = CHUNK_REQUESTS) -> dict[str, str]:
    """Environment of a trial's loads: small pages, and chunks of `chunk_requests` requests."""
    return {
        "SOURCES__WOODPECKER__PER_PAGE": str(PER_PAGE),
        "SOURCES__WOODPECKER__CHUNK_REQUESTS": str(chunk_requests),
    }


@dataclass
class Killed:
    """What the killed child did before the kill."""

    requests: int  # requests the simulator served to it
    killed: bool


def kill_after_requests(sim: Simulator, args: list[str], requests: int, timeout: float = 120) -> Killed:
    """Run the CLI as a child and SIGKILL it once the simulator has served it `requests` requests."""
    before = len(sim.requests)
    proc = spawn_cli(args, chunk_env())
    drained = threading.Thread(target=proc.communicate, daemon=True)  # keep its pipes from filling
    drained.start()
    deadline = time.monotonic() + timeout
    killed = False
    while proc.poll() is None and time.monotonic() < deadline:
        if len(sim.requests) - before >= requests:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    proc.wait(timeout=timeout)
    drained.join(timeout=5)
    return Killed(len(sim.requests) - before, killed)


def flagged_deleted(workdir: Path, table: str) -> set[int]:
    """Ids (prospects) or prospect ids (memberships) of rows the load flagged deleted."""
    column = "id" if table == "prospects" else "prospect_id"
    with duckdb.connect(str(workdir / f"{NAME}.duckdb"), read_only=True) as con:
        rows = con.sql(f"SELECT {column} FROM {DATASET}.{table} WHERE deleted_at IS NOT NULL").fetchall()
    return {int(row[0]) for row in rows}


def positions_left(workdir: Path) -> list[str]:
    """Resources whose committed state still holds a scan position (none once a load has finished)."""
    resources = local_state(workdir).get("sources", {}).get("woodpecker", {}).get("resources", {})
    return sorted(name for name, state in resources.items() if isinstance(state, dict) and "scan" in state)
