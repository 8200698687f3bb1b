"""The `woodpecker-etl` command line against the simulator over real HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from pipelines.exit_codes import ExitCode


def _args(sim: Any, tmp_path: Path, *extra: str, key: str | None = None) -> list[str]:
    return [
        "load",
        "--base-url",
        sim.base_url,
        "--api-key",
        key if key is not None else sim.api_key,
        "--duckdb-path",
        str(tmp_path / "wp.duckdb"),
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
        *extra,
    ]


def _count(path: Path, table: str, where: str = "") -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.sql(f"SELECT COUNT(*) FROM woodpecker.{table} {where}").fetchone()
    assert row is not None
    return int(row[0])


def test_load_prints_summary_and_loads_every_prospect(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_args(simulator, tmp_path))
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    truth = simulator.truth()
    assert _count(tmp_path / "wp.duckdb", "prospects") == len(truth.prospects)
    assert _count(tmp_path / "wp.duckdb", "campaign_prospects") == len(truth.campaign_prospects)
    assert "Loaded Woodpecker into DuckDB file" in out
    row = re.search(r"^\s*prospects\s+([\d,]+)\s+([\d,]+)\s*$", out, re.MULTILINE)
    assert row is not None, out
    assert row.group(1) == row.group(2) == f"{len(truth.prospects):,}"
    assert f"requests: {len(simulator.requests):,}" in out
    assert "Query it" in out
    assert simulator.api_key not in out + err


def test_second_load_is_incremental(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(simulator, tmp_path)) == ExitCode.OK
    first = len(simulator.requests)
    capsys.readouterr()
    assert main(_args(simulator, tmp_path)) == ExitCode.OK
    second = len(simulator.requests) - first
    out = capsys.readouterr().out
    assert second < first
    assert f"requests: {second:,}" in out


def test_missing_key_is_a_configuration_error(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCES__WOODPECKER__API_KEY", raising=False)
    args = [a for a in _args(simulator, tmp_path) if a not in ("--api-key", simulator.api_key)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == ExitCode.CONFIGURATION
    assert "SOURCES__WOODPECKER__API_KEY" in err
    assert "Traceback" not in err
    assert len(simulator.requests) == 0


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [("not-the-right-key-123", "401", "E_SESSION"), ("woodpecker-sim-no-addon", "403", "E_NO_PERMISSION")],
)
def test_rejected_key_fails_at_once_without_leaking_it(
    simulator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    status: str,
    code: str,
) -> None:
    exit_code = main(["-vv", *_args(simulator, tmp_path, key=key)])
    out, err = capsys.readouterr()
    assert exit_code == ExitCode.AUTHENTICATION
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert status in error_lines[0] and code in error_lines[0]
    assert "Traceback" not in err
    assert key not in out + err
    assert len(simulator.requests) == 1


def test_unknown_resource_is_a_configuration_error(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_args(simulator, tmp_path, "--resources", "prospects,nope"))
    err = capsys.readouterr().err
    assert code == ExitCode.CONFIGURATION
    assert "nope" in err and "prospects" in err


def test_resources_subset_loads_only_those(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_args(simulator, tmp_path, "--resources", "campaigns", "--no-transform"))
    assert code == ExitCode.OK, capsys.readouterr().err
    with duckdb.connect(str(tmp_path / "wp.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "campaigns" in tables
    assert "prospects" not in tables


def test_status_shows_cursors_and_counts(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(simulator, tmp_path)) == ExitCode.OK
    capsys.readouterr()
    code = main(
        [
            "status",
            "--duckdb-path",
            str(tmp_path / "wp.duckdb"),
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
        ]
    )
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert "last run:" in out and "succeeded" in out
    assert "prospects" in out
    assert f"{len(simulator.truth().prospects):,}" in out


def test_locked_duckdb_file_is_a_destination_error(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "wp.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db)!r})
                con.execute("CREATE TABLE IF NOT EXISTS t(x int)")
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        code = main(_args(simulator, tmp_path, "--lock-timeout", "0"))
        err = capsys.readouterr().err
    finally:
        holder.communicate("", timeout=30)
    assert code == ExitCode.DESTINATION
    assert f"The DuckDB file {db} is locked by another process (process {holder.pid})" in err
    assert "Traceback" not in err


def test_default_duckdb_file_is_queryable_with_two_part_names(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["load", "--base-url", simulator.base_url, "--api-key", simulator.api_key, "--pipelines-dir", "p"]
    assert main(args) == ExitCode.OK, capsys.readouterr().err
    assert "woodpecker_etl.duckdb" in capsys.readouterr().out
    assert _count(tmp_path / "woodpecker_etl.duckdb", "campaign_performance") == len(
        simulator.truth().campaigns
    )


def test_duckdb_file_named_like_the_dataset_is_refused(
    simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(simulator, tmp_path, "--duckdb-path", str(tmp_path / "woodpecker.duckdb"))
    code = main(args)
    err = capsys.readouterr().err
    assert code == ExitCode.CONFIGURATION
    assert "--duckdb-path" in err and "Traceback" not in err
    assert len(simulator.requests) == 0
