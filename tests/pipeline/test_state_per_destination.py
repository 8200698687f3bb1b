"""The state of one destination is never read as another's; `status`/`transform` on nothing loaded say so.

Every test runs `woodpecker-etl` as a user would (`main(argv)`) against the simulator, with one
pipelines dir shared by every destination: what separates their states is the CLI, not the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from pipelines.exit_codes import ExitCode


def _dest(tmp_path: Path, db: str) -> list[str]:
    return ["--duckdb-path", str(tmp_path / db), "--pipelines-dir", str(tmp_path / "pipelines")]


def _load(sim: Any, tmp_path: Path, db: str, *extra: str) -> list[str]:
    return ["load", "--base-url", sim.base_url, "--api-key", sim.api_key, *_dest(tmp_path, db), *extra]


def _prospects(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.sql("SELECT COUNT(*) FROM woodpecker.prospects WHERE deleted_at IS NULL").fetchone()
    assert row is not None
    return int(row[0])


def _loaded_row(out: str, table: str) -> tuple[int, int]:
    """(rows loaded by this run, rows in the table) of the load summary."""
    row = re.search(rf"^\s*{table}\s+([\d,]+)\s+([\d,]+)\s*$", out, re.MULTILINE)
    assert row is not None, out
    return int(row.group(1).replace(",", "")), int(row.group(2).replace(",", ""))


def _requests(out: str) -> int:
    found = re.search(r"requests: ([\d,]+)", out)
    assert found is not None, out
    return int(found.group(1).replace(",", ""))


def _cursor(out: str) -> str:
    found = re.search(r"prospects: .*?updated = ([^,\n]+)", out)
    assert found is not None, out
    return found.group(1)


def test_a_second_database_gets_a_full_load_and_its_own_cursors(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_load(simulator, tmp_path, "a.duckdb")) == ExitCode.OK
    first = capsys.readouterr().out
    full_requests = _requests(first)
    simulator.account.simulate(6 * 3600)  # the account moves on: b's cursors must be newer than a's
    simulator.account.add_prospects(5)

    # Another file, same pipeline name and pipelines dir: a full load of everything, not a's increment.
    assert main(_load(simulator, tmp_path, "b.duckdb")) == ExitCode.OK
    out = capsys.readouterr().out
    truth = len(simulator.truth().prospects)
    assert _loaded_row(out, "prospects") == (truth, truth)
    assert _prospects(tmp_path / "b.duckdb") == truth

    # status of each file shows that file's own cursors, whichever was loaded last.
    assert main(["status", *_dest(tmp_path, "a.duckdb")]) == ExitCode.OK
    status_a = capsys.readouterr().out
    assert main(["status", *_dest(tmp_path, "b.duckdb")]) == ExitCode.OK
    status_b = capsys.readouterr().out
    assert _cursor(status_a) < _cursor(status_b), (status_a, status_b)
    assert re.search(rf"^\s*prospects\s+{truth:,}\s*$", status_b, re.MULTILINE), status_b

    # a again: it resumes from a's own cursors (an increment with few requests), and is complete.
    assert main(_load(simulator, tmp_path, "a.duckdb")) == ExitCode.OK
    again = capsys.readouterr().out
    loaded, total = _loaded_row(again, "prospects")
    assert 5 <= loaded < truth // 10 and total == truth  # the new prospects, not everything
    assert _requests(again) < full_requests + 5
    assert _prospects(tmp_path / "a.duckdb") == truth
    # ... and b once more: b's cursors are restored from b itself (only the lag window is read again).
    assert main(_load(simulator, tmp_path, "b.duckdb")) == ExitCode.OK
    loaded, total = _loaded_row(capsys.readouterr().out, "prospects")
    assert loaded < truth // 10 and total == truth


def test_a_deleted_database_is_loaded_in_full_again(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_load(simulator, tmp_path, "wp.duckdb")) == ExitCode.OK
    (tmp_path / "wp.duckdb").unlink()
    assert main(_load(simulator, tmp_path, "wp.duckdb")) == ExitCode.OK
    truth = len(simulator.truth().prospects)
    assert _loaded_row(capsys.readouterr().out, "prospects") == (truth, truth)
    assert _prospects(tmp_path / "wp.duckdb") == truth


@pytest.mark.parametrize("command", ["status", "transform"])
def test_nothing_loaded_is_one_line_and_creates_nothing(
    command: str, simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_load(simulator, tmp_path, "wp.duckdb")) == ExitCode.OK  # state of another file exists
    capsys.readouterr()
    typo = tmp_path / "wp_typo.duckdb"
    assert main([command, *_dest(tmp_path, "wp_typo.duckdb")]) == ExitCode.CONFIGURATION
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, (out, err)
    assert f"There is no DuckDB file {typo}" in err and "woodpecker-etl load" in err, err
    assert not typo.exists()  # no new empty file, no models "rebuilt" into it

    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE sales AS SELECT 1 AS id")
    assert main([command, *_dest(tmp_path, "other.duckdb")]) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert "No Woodpecker data has been loaded into DuckDB file" in err and "--duckdb-path" in err, err
    with duckdb.connect(str(other), read_only=True) as con:
        tables = con.sql("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    assert tables == [("main", "sales")]  # nothing built, no schema created


def test_status_after_the_demo_points_at_the_demo_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-home"))
    assert main(["demo", "--prospects", "50", "--campaigns", "2"]) == ExitCode.OK
    capsys.readouterr()
    assert main(["status"]) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert "There is no DuckDB file ./woodpecker_etl.duckdb" in err, err
    assert "--duckdb-path ./woodpecker_demo.duckdb" in err, err
    assert main(["status", "--duckdb-path", "./woodpecker_demo.duckdb"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "Pipeline woodpecker_demo" in out and "updated = " in out and "engagement tables: current" in out
    assert re.search(r"^\s*prospects\s+50\s*$", out, re.MULTILINE), out
