"""Edits, adds and deletes while a load pages: after a reconciling load the database equals the truth."""

from __future__ import annotations

from pathlib import Path

from .common import Size, Tally
from .live import live_trial


def test_changes_during_a_run_are_loaded_by_the_next_reconciling_run(size: Size, tmp_path: Path) -> None:
    tally, changes = Tally(), 0
    for seed in range(size.live_trials):
        trial, made = live_trial(seed, size, tmp_path / f"trial{seed}")
        tally.add(trial)
        changes += made
    assert changes >= 3 * size.live_trials, "the account hardly changed mid-run"
    assert tally.clean, tally.problems
    assert tally.runs_completed == 3 * size.live_trials
