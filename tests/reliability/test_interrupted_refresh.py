"""A `load --full-refresh` killed at the bad moment never leaves marts that silently disagree.

The account changes a lot (a third of the prospects deleted, new ones added), then a full refresh runs
as a child process and gets SIGKILL right after it announces the load step (the raw tables are being
dropped and reloaded) or the engagement tables (raw tables reloaded, marts still the old ones). Both
times `status` must say the engagement tables are STALE and how to fix it; in the second case the raw
tables must hold the new truth while the marts still hold the old numbers, which is exactly the
disagreement `status` reports. The next `load` rebuilds the marts: they match the raw tables and the
truth again and `status` says they are current.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipelines.exit_codes import ExitCode

from .common import NAME, Size, dest_args, load_args, run_child, run_cli, start_simulator
from .crashes import kill_during


def _counts(db: Path) -> tuple[int, int]:
    """(live raw prospects, rows of the prospect_engagement mart)."""
    with duckdb.connect(str(db), read_only=True) as con:
        raw = con.sql("SELECT COUNT(*) FROM woodpecker.prospects WHERE deleted_at IS NULL").fetchone()
        mart = con.sql("SELECT COUNT(*) FROM woodpecker.prospect_engagement").fetchone()
    assert raw is not None and mart is not None
    return int(raw[0]), int(mart[0])


@pytest.mark.slow
def test_killed_full_refresh_marks_the_marts_stale_until_they_are_rebuilt(size: Size, tmp_path: Path) -> None:
    sim = start_simulator(19, replace(size, prospects=300))
    db = tmp_path / f"{NAME}.duckdb"
    try:
        first = run_child(load_args(sim, tmp_path))
        assert first.code == ExitCode.OK, first.err
        before = len(sim.truth().prospects)
        assert _counts(db) == (before, before)
        ids = [int(i) for i in sim.truth().prospects.id]
        for pid in ids[::3]:
            sim.account.delete_prospect(pid)
        sim.account.add_prospects(25)
        after = len(sim.truth().prospects)
        assert after < before - 50

        status_lines = []
        for phase in ("load", "transform"):
            kill = kill_during(load_args(sim, tmp_path, "--full-refresh"), phase, 0.0)
            assert kill.killed and kill.landed_in == phase, kill
            status = run_cli(["status", *dest_args(tmp_path)])
            assert status.code == ExitCode.OK, status.err
            line = next((s for s in status.out.splitlines() if "engagement tables:" in s), "")
            status_lines.append(line)
            assert "STALE" in line and "full refresh" in line and "woodpecker-etl load" in line, status.out
            assert "woodpecker-etl transform" in line
        # Killed while building the marts: the raw tables hold the new account, the marts the old one.
        assert _counts(db) == (after, before)

        recovered = run_cli(load_args(sim, tmp_path))
        assert recovered.code == ExitCode.OK, recovered.err
        assert _counts(db) == (after, after)
        status = run_cli(["status", *dest_args(tmp_path)])
        assert "engagement tables: current" in status.out, status.out
        assert "STALE" not in status.out
    finally:
        sim.stop()
