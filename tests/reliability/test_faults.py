"""API faults on up to 20% of requests: each run completes equal to the truth, or fails cleanly."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelines.exit_codes import ExitCode

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
from .faults import fault_trial


@pytest.mark.slow
def test_seeded_fault_mixes(size: Size, tmp_path: Path) -> None:
    tally = Tally()
    for seed in range(size.fault_trials):
        tally.add(fault_trial(seed, size, tmp_path / f"trial{seed}"))
    assert tally.clean, tally.problems
    assert tally.trials == size.fault_trials
    assert tally.faults_injected >= size.fault_trials and tally.retries > 0
    assert tally.runs_completed == size.fault_trials  # directly, or by the run after a clean failure


@pytest.mark.slow
def test_giving_up_leaves_database_and_cursors_and_the_next_run_completes(size: Size, tmp_path: Path) -> None:
    sim = start_simulator(11, size)
    try:
        assert run_cli(load_args(sim, tmp_path, "--no-transform")).code == ExitCode.OK
        mutate(sim, random.Random(11), set())
        db_before, cursors_before = db_digest(tmp_path), cursors(tmp_path)
        # campaigns and the first prospects page answer, then every attempt at the next request fails
        sim.faults.script([None, None, "unavailable", "error500", "bad_gateway"])
        failed = run_cli(
            load_args(sim, tmp_path, "--no-transform"), env={"SOURCES__WOODPECKER__MAX_ATTEMPTS": "3"}
        )
        assert failed.code == ExitCode.API
        assert failed.last_error.startswith("error: Woodpecker API error 502")
        assert "gave up after 3 attempts" in failed.last_error and "Traceback" not in failed.err
        assert db_digest(tmp_path) == db_before and cursors(tmp_path) == cursors_before
        assert run_cli(load_args(sim, tmp_path, "--no-transform")).code == ExitCode.OK
        tally = Tally()
        check_against_truth(sim, tmp_path, set(), tally, "after the failure")
        assert tally.clean, tally.problems
    finally:
        sim.stop()
