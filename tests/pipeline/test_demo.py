"""`woodpecker-etl demo`: simulator → DuckDB → engagement tables → first look, in one command."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from pipelines.demo import run_demo
from pipelines.exit_codes import ExitCode


def test_demo_loads_builds_and_shows_campaign_performance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.duckdb"
    code = run_demo(
        prospects=400, campaigns=5, seed=3, duckdb_path=str(db), pipelines_dir=str(tmp_path / "p")
    )
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    assert "Started the bundled Woodpecker simulator" in err
    assert "First look at campaign_performance" in out
    with duckdb.connect(str(db), read_only=True) as con:
        prospects = con.sql("SELECT COUNT(*) FROM woodpecker.prospects").fetchone()
        names = [
            r[0] for r in con.sql("SELECT campaign_name FROM woodpecker.campaign_performance").fetchall()
        ]
    assert prospects is not None and prospects[0] == 400
    assert len(names) == 5
    first_look = out.split("First look at campaign_performance:")[1]
    assert sum(name in first_look for name in names) == 5


def test_demo_starts_from_scratch_each_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.duckdb"
    for _ in range(2):
        code = run_demo(
            prospects=200, campaigns=3, seed=5, duckdb_path=str(db), pipelines_dir=str(tmp_path / "p")
        )
        assert code == ExitCode.OK, capsys.readouterr().err
    out = capsys.readouterr().out
    summary = out.rsplit("Loaded Woodpecker into", 1)[1]
    row = re.search(r"^\s*prospects\s+([\d,]+)\s+([\d,]+)\s*$", summary, re.MULTILINE)
    assert row is not None and row.groups() == ("200", "200")  # a full load again, not an increment
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.sql("SELECT COUNT(*), COUNT(DISTINCT id) FROM woodpecker.prospects").fetchone()
    assert row == (200, 200)
