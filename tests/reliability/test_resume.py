"""Chunked loads killed at seeded moments: the next plain `load` finishes them, repeating little."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from pipelines.exit_codes import ExitCode
from simulator import Simulator

from .common import Size, Tally, check_against_truth, dest_args, load_args, mutate, run_cli, start_simulator
from .resume import (
    CHUNK_REQUESTS,
    NO_CHANGE_REQUESTS,
    SIZE,
    SLACK_REQUESTS,
    chunk_env,
    flagged_deleted,
    kill_after_requests,
    positions_left,
)

SEED = 23


def _requests(sim: Simulator, since: int = 0) -> Counter[tuple[str, str]]:
    return Counter((r.path, repr(sorted(r.query.items()))) for r in sim.requests[since:])


def _load(sim: Simulator, workdir: Path, *extra: str, chunk_requests: int = CHUNK_REQUESTS) -> int:
    before = len(sim.requests)
    run = run_cli(load_args(sim, workdir, "--no-transform", *extra), chunk_env(chunk_requests))
    assert run.code == ExitCode.OK, run.err[-2000:]
    return len(sim.requests) - before


@pytest.fixture(scope="module")
def full_load(tmp_path_factory: pytest.TempPathFactory) -> Counter[tuple[str, str]]:
    """The requests of one first load of the trial account committed at once (one chunk)."""
    sim = start_simulator(SEED, SIZE)
    try:
        _load(sim, tmp_path_factory.mktemp("reference"), chunk_requests=100_000)
        return _requests(sim)
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def full_load_requests(full_load: Counter[tuple[str, str]]) -> int:
    """How many requests one uninterrupted first load of the trial account makes."""
    return sum(full_load.values())


def test_chunks_add_no_request(full_load: Counter[tuple[str, str]], tmp_path: Path) -> None:
    """A load committed in many chunks makes exactly the requests of one committed at once."""
    sim = start_simulator(SEED, SIZE)
    try:
        run = run_cli(load_args(sim, tmp_path, "--no-transform"), chunk_env())
        assert run.code == ExitCode.OK, run.err[-2000:]
        assert run.err.count("→ Extracting") >= sum(full_load.values()) // CHUNK_REQUESTS  # many chunks
        assert _requests(sim) == full_load
        assert not positions_left(tmp_path)
        tally = Tally()
        check_against_truth(sim, tmp_path, set(), tally, "chunked load")
        assert tally.clean, tally.problems
    finally:
        sim.stop()


def test_first_load_killed_then_one_load_finishes_it(
    size: Size, full_load_requests: int, tmp_path: Path
) -> None:
    """SIGKILL after 80 % of the requests, then (`make soak`) at seeded moments; one `load` finishes."""
    for trial in range(max(1, size.crash_trials // 3)):
        rng = random.Random(trial)
        share = 0.8 if trial == 0 else rng.uniform(0.1, 0.97)
        _kill_trial(share, full_load_requests, tmp_path / f"trial{trial}")


def _kill_trial(share: float, full_load_requests: int, tmp_path: Path) -> None:
    sim = start_simulator(SEED, SIZE)
    try:
        killed = kill_after_requests(
            sim, load_args(sim, tmp_path, "--no-transform"), int(share * full_load_requests)
        )
        assert killed.killed, f"the load finished after {killed.requests} requests before it was killed"
        resumed = _load(sim, tmp_path)
        assert not positions_left(tmp_path)
        tally = Tally()
        check_against_truth(sim, tmp_path, set(), tally, f"killed after {killed.requests} requests")
        assert tally.clean, tally.problems
        assert not flagged_deleted(tmp_path, "prospects") and not flagged_deleted(
            tmp_path, "campaign_prospects"
        )
        extra = killed.requests + resumed - full_load_requests
        # At most the interrupted chunk (its budget grows to a tenth of the requests made before it), the
        # incremental reads of the resources finished before the kill, and a few realigned pages.
        budget = max(CHUNK_REQUESTS, killed.requests // 10)
        assert extra <= budget + NO_CHANGE_REQUESTS + SLACK_REQUESTS, (killed, resumed, full_load_requests)
    finally:
        sim.stop()


def test_reconcile_killed_flags_only_after_the_resumed_scan(tmp_path: Path) -> None:
    """A full scan cut by a kill flags nothing; resumed to its end, it flags exactly the deleted rows."""
    rng = random.Random(SEED)
    sim = start_simulator(SEED + 1, SIZE)
    deleted: set[int] = set()
    try:
        _load(sim, tmp_path, chunk_requests=100_000)
        mutate(sim, rng, deleted, changes=30, deletions=True)
        assert deleted, "the trial deletes prospects"
        args = load_args(sim, tmp_path, "--no-transform", "--reconcile")
        killed = kill_after_requests(sim, args, 60)
        assert killed.killed
        assert not flagged_deleted(tmp_path, "prospects")  # the interrupted scan proves nothing
        status = run_cli(["status", *dest_args(tmp_path)])
        assert "resumable: " in status.out, status.out
        _load(sim, tmp_path, "--reconcile")
        assert not positions_left(tmp_path)
        assert flagged_deleted(tmp_path, "prospects") == deleted
        tally = Tally()
        check_against_truth(sim, tmp_path, deleted, tally, "reconciliation resumed after a kill")
        assert tally.clean, tally.problems
    finally:
        sim.stop()
