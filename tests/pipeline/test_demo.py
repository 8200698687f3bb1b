"""`woodpecker-etl demo`: simulator → DuckDB → engagement tables → first look, in one command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.demo_run import run_demo
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


def _demo(db: Path, tmp_path: Path) -> int:
    from pipelines.cli import main

    return main(["demo", "--prospects", "60", "--campaigns", "2", "--seed", "4", "--duckdb-path", str(db)])


@pytest.fixture
def isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dlt's machine-wide folder moved into the test's directory."""
    home = tmp_path / "dlt-home"
    monkeypatch.setenv("DLT_DATA_DIR", str(home))
    return home


def test_demo_refuses_to_overwrite_what_it_did_not_create(
    tmp_path: Path, isolated_dlt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.duckdb"
    text.write_text("my notes\n")
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    loaded = tmp_path / "loaded.duckdb"
    with duckdb.connect(str(loaded)) as con:
        con.execute("CREATE SCHEMA woodpecker")
        con.execute("CREATE TABLE woodpecker.prospects AS SELECT range AS id FROM range(30000)")
    for target, reason in [
        (text, "not a DuckDB database"),
        (folder, "not a regular file"),
        (loaded, "no demo marker"),
    ]:
        before = sorted(p.name for p in tmp_path.rglob("*"))
        assert _demo(target, tmp_path) == ExitCode.CONFIGURATION
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0, err  # one line
        assert f"will not overwrite {target}" in err and reason in err and "--duckdb-path" in err, err
        assert "Traceback" not in err
        assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, nothing removed
    assert text.read_text() == "my notes\n"
    assert (folder / "keep.txt").read_text() == "keep"
    with duckdb.connect(str(loaded), read_only=True) as con:
        assert con.sql("SELECT COUNT(*) FROM woodpecker.prospects").fetchone() == (30000,)


def test_demo_replaces_its_own_file_but_not_once_load_wrote_to_it(
    tmp_path: Path, isolated_dlt: Path, simulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    db = tmp_path / "demo.duckdb"
    assert _demo(db, tmp_path) == ExitCode.OK, capsys.readouterr().err
    assert _demo(db, tmp_path) == ExitCode.OK, capsys.readouterr().err  # its own file: replaced
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT COUNT(*) FROM woodpecker.prospects").fetchone() == (60,)
    capsys.readouterr()
    # A user loads a real account into the demo's file: from then on it is theirs.
    code = main(
        ["load", "--duckdb-path", str(db), "--base-url", simulator.base_url, "--api-key", simulator.api_key]
    )
    assert code == ExitCode.OK, capsys.readouterr().err
    capsys.readouterr()
    assert _demo(db, tmp_path) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert "other pipelines have loaded into it" in err, err
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT COUNT(*) FROM woodpecker.prospects").fetchone() == (
            len(simulator.truth().prospects),
        )
