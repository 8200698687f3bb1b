"""SIGKILL of `woodpecker-etl load` in each phase: the next single load repairs everything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.exit_codes import ExitCode

from .common import (
    PIPELINE_NAME,
    Size,
    cursor_ahead_of_data,
    load_args,
    pending_packages,
    run_cli,
    start_simulator,
)
from .crashes import crash_trial, kill_during


@pytest.mark.parametrize(("seed", "phase"), [(1, "extract"), (2, "normalize"), (3, "load")])
def test_kill_in_phase_then_one_load_equals_the_truth(
    seed: int, phase: str, size: Size, tmp_path: Path
) -> None:
    tally, kill = crash_trial(seed, size, tmp_path, phase=phase)
    assert kill.killed, "the run finished before it could be killed"
    assert tally.clean, tally.problems
    assert tally.runs_completed == 1


def test_the_cursor_check_sees_a_lost_package(size: Size, tmp_path: Path) -> None:
    """The crash check is not vacuous: deleting the package a kill left makes the cursors run ahead."""
    sim = start_simulator(5, size)
    try:
        assert run_cli(load_args(sim, tmp_path, "--no-transform")).code == ExitCode.OK
        sim.account.simulate(3_600)
        kill = kill_during(load_args(sim, tmp_path), "normalize", 0.0)
        assert kill.killed and pending_packages(tmp_path)
        assert not cursor_ahead_of_data(tmp_path)
        for package in pending_packages(tmp_path):
            shutil.rmtree(tmp_path / "pipelines" / PIPELINE_NAME / package)
        assert cursor_ahead_of_data(tmp_path)
    finally:
        sim.stop()
