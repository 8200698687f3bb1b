"""Crash trials: `woodpecker-etl load` as a child process, killed with SIGKILL at a seeded moment.

The moment is aimed at one phase — process start-up, extract, normalize, load, reconciliation or the
engagement tables — by waiting for the line the CLI prints when that phase starts, then a seeded delay.
After the kill the account changes again, and one ordinary `woodpecker-etl load` must finish any load
package the killed run left, load the new changes, and leave every table equal to the truth with no
duplicate keys. Right after the kill, the committed cursors must never be ahead of the loaded data
unless a pending package carries that data.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.exit_codes import ExitCode

from .common import (
    Size,
    Tally,
    check_against_truth,
    cursor_ahead_of_data,
    load_args,
    mutate,
    pending_packages,
    run_cli,
    spawn_cli,
    start_simulator,
)

# Phase → (the stderr line that starts it, longest delay after that line in seconds). "start" counts from
# the moment the process is spawned (imports, configuration).
PHASES: dict[str, tuple[str, float]] = {
    "start": ("", 2.0),
    "extract": ("→ Extracting", 1.2),
    "normalize": ("→ Normalizing", 0.15),
    "load": ("→ Loading", 0.5),
    "reconcile": ("→ Applying reconciliation", 0.03),
    "transform": ("→ Building engagement tables", 0.4),
}
MARKERS = {marker: phase for phase, (marker, _) in PHASES.items() if marker}
# Per-request latency of the simulator, so that extraction lasts long enough to be hit.
LATENCY_S = 0.03


@dataclass
class Kill:
    """Where a kill landed."""

    aimed_at: str
    landed_in: str  # the last phase the child announced before the kill, or "finished"
    killed: bool
    pending: int = 0  # load packages the kill left for the next run


def kill_during(args: list[str], phase: str, delay: float, timeout: float = 120) -> Kill:
    """Run the CLI as a child and SIGKILL it `delay` seconds after `phase` starts."""
    marker = PHASES[phase][0]
    proc = spawn_cli(args)
    seen: list[str] = ["start"]
    armed = threading.Event()
    if not marker:
        armed.set()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            for text, name in MARKERS.items():
                if text in line:
                    seen.append(name)
                    if text == marker:
                        armed.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    killed = False
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not armed.wait(0.01):
        if time.monotonic() > deadline:
            break
    if proc.poll() is None:
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
    proc.wait(timeout=timeout)
    reader.join(timeout=5)
    assert proc.stdout is not None
    proc.stdout.close()
    return Kill(phase, seen[-1] if killed else "finished", killed)


def crash_trial(seed: int, size: Size, workdir: Path, phase: str | None = None) -> tuple[Tally, Kill]:
    """One seeded crash trial in `workdir` (aimed at `phase`, or a seeded one)."""
    rng = random.Random(seed)
    tally = Tally(trials=1)
    label = f"crash trial {seed}"
    sim = start_simulator(seed, size, latency_s=LATENCY_S)
    deleted: set[int] = set()
    try:
        if rng.random() < 0.75:  # most trials crash an incremental run; the others the very first load
            first = run_cli(load_args(sim, workdir, "--no-transform"))
            if first.code != ExitCode.OK:
                tally.failed_otherwise += 1
                tally.problems.append(f"{label}: first load failed: {first.last_error}")
                return tally, Kill("", "", False)
            mutate(sim, rng, deleted)
        aimed = phase or rng.choice(list(PHASES))
        kill = kill_during(load_args(sim, workdir), aimed, rng.uniform(0, PHASES[aimed][1]))
        if cursor_ahead_of_data(workdir):
            tally.cursor_ahead += 1
            tally.problems.append(f"{label}: after a kill in {kill.landed_in}, cursors are ahead of the data")
        kill.pending = len(pending_packages(workdir))
        mutate(sim, rng, deleted)  # the account moves on while nothing runs
        recovery = run_cli(load_args(sim, workdir))
        if recovery.code != ExitCode.OK:
            tally.failed_otherwise += 1
            tally.problems.append(
                f"{label}: the load after a kill in {kill.landed_in} failed: {recovery.last_error}"
            )
            return tally, kill
        tally.runs_completed += 1
        if kill.pending and "first finished the load package" not in recovery.out:
            tally.mismatches += 1
            tally.problems.append(f"{label}: the load after the kill did not report the pending package")
        check_against_truth(sim, workdir, deleted, tally, f"{label} (killed in {kill.landed_in})")
    finally:
        sim.stop()
    return tally, kill
