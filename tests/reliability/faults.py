"""API fault trials: a seeded mix of faults on up to 20% of requests during one `woodpecker-etl load`.

A trial passes when the run either completes with every table equal to the truth, or fails with exit
code 4 and a one-line `error: Woodpecker API error …` message, leaving the database and the cursors
exactly as they were, after which a run without faults completes and equals the truth.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pipelines.exit_codes import ExitCode
from simulator.config import FAULT_KINDS

from .common import (
    Size,
    Tally,
    check_against_truth,
    cursors,
    db_digest,
    load_args,
    mutate,
    run_cli,
    start_simulator,
)

MIN_FAULT_RATE = 0.05
MAX_FAULT_RATE = 0.20
# Few attempts make give-ups (the clean-failure path) common; 1 never retries; 8 is the default.
ATTEMPT_CHOICES = (1, 2, 3, 8)


def fault_trial(seed: int, size: Size, workdir: Path) -> Tally:
    """One seeded fault trial in `workdir`; returns its tally (problems listed, never raised)."""
    rng = random.Random(seed)
    tally = Tally(trials=1)
    sim = start_simulator(seed, size)
    deleted: set[int] = set()
    label = f"fault trial {seed}"
    try:
        if rng.random() < 0.5:  # half the trials fail or succeed on top of an earlier load
            first = run_cli(load_args(sim, workdir, "--no-transform"))
            if first.code != ExitCode.OK:
                tally.failed_otherwise += 1
                tally.problems.append(f"{label}: fault-free first load failed: {first.last_error}")
                return tally
            mutate(sim, rng, deleted)
        db_before, cursors_before = db_digest(workdir), cursors(workdir)
        sim.faults.kinds = tuple(rng.sample(FAULT_KINDS, rng.randint(1, len(FAULT_KINDS))))
        sim.faults.rate = rng.uniform(MIN_FAULT_RATE, MAX_FAULT_RATE)
        attempts = rng.choice(ATTEMPT_CHOICES)
        summary = workdir / "summary.json"
        faulty = run_cli(
            load_args(sim, workdir, "--no-transform", "--summary-json", str(summary)),
            env={"SOURCES__WOODPECKER__MAX_ATTEMPTS": str(attempts)},
        )
        sim.faults.clear()
        tally.faults_injected += sim.faults.total
        if faulty.code == ExitCode.OK:
            tally.runs_completed += 1
            tally.retries += int(json.loads(summary.read_text())["retries"])
            check_against_truth(sim, workdir, deleted, tally, label)
            return tally
        clean = (
            faulty.code == ExitCode.API
            and faulty.last_error.startswith("error: Woodpecker API error")
            and "Traceback" not in faulty.err
        )
        if not clean:
            tally.failed_otherwise += 1
            tally.problems.append(f"{label}: exit {faulty.code}: {faulty.last_error or faulty.err[-300:]}")
            return tally
        tally.failed_cleanly += 1
        if db_digest(workdir) != db_before or cursors(workdir) != cursors_before:
            tally.mismatches += 1
            tally.problems.append(f"{label}: the failed run changed the database or the cursors")
        again = run_cli(load_args(sim, workdir, "--no-transform"))
        if again.code != ExitCode.OK:
            tally.failed_otherwise += 1
            tally.problems.append(f"{label}: the run after the failure failed: {again.last_error}")
            return tally
        tally.runs_completed += 1
        check_against_truth(sim, workdir, deleted, tally, label)
    finally:
        sim.stop()
    return tally
