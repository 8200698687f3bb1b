"""A DuckDB file held by another process: `load` waits for it (up to --lock-timeout), then says why.

DuckDB allows one writing process or any number of readers, never both: a reader opened with
`read_only=True` in another process blocks a load just like a writer does. These tests hold the file
open read-only in a child process, as a notebook or BI tool would, and run `woodpecker-etl load`.
"""

from __future__ import annotations

import os
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from pipelines.exit_codes import ExitCode

from ..duckdb_holder import holding_duckdb


def _load(sim: Any, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "load",
        "--base-url",
        sim.base_url,
        "--api-key",
        sim.api_key,
        "--duckdb-path",
        str(tmp_path / "wp.duckdb"),
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
        *extra,
    ]


def reader(db: Path, release_after_s: float | None = None) -> AbstractContextManager[int]:
    """A child process holding `db` open read-only (until the block ends, or for `release_after_s`)."""
    return holding_duckdb(db, read_only=True, release_after_s=release_after_s)


def _prospects(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.sql("SELECT COUNT(*) FROM woodpecker.prospects").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def loaded(simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(_load(simulator, tmp_path)) == ExitCode.OK
    capsys.readouterr()
    simulator.account.add_prospects(7)  # what the next load would add
    return tmp_path / "wp.duckdb"


def test_a_read_only_reader_blocks_the_load_which_gives_up_after_its_timeout(
    simulator: Any, tmp_path: Path, loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _prospects(loaded)
    with reader(loaded) as pid:
        started = time.monotonic()
        code = main(_load(simulator, tmp_path, "--lock-timeout", "2"))
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == ExitCode.DESTINATION, err
    assert 2 <= elapsed < 10, elapsed
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"error: The DuckDB file {loaded} is locked by another process (process {pid})"), (
        line
    )
    assert "after waiting 2" in line and "read_only=True" in line and "blocks the load too" in line, line
    assert "close those connections" in line and "--lock-timeout" in line, line
    assert f"Waiting up to 2 s for another process (process {pid}) to close {loaded}" in err
    assert "Traceback" not in err
    assert _prospects(loaded) == before  # nothing was written


def test_the_load_waits_for_a_reader_that_closes_and_then_loads(
    simulator: Any, tmp_path: Path, loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with reader(loaded, release_after_s=1.5):
        started = time.monotonic()
        code = main(_load(simulator, tmp_path, "--lock-timeout", "60"))
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert elapsed >= 1.0, elapsed  # it did wait for the reader
    assert "Waiting up to 60 s" in err
    assert _prospects(loaded) == len(simulator.truth().prospects)


def test_the_wait_is_configurable_and_checked(
    simulator: Any,
    tmp_path: Path,
    loaded: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WOODPECKER_ETL__LOCK_TIMEOUT", "1")
    with reader(loaded):
        started = time.monotonic()
        code = main(_load(simulator, tmp_path))
        elapsed = time.monotonic() - started
        transform = main(["transform", *_load(simulator, tmp_path)[5:]])
    err = capsys.readouterr().err
    assert code == ExitCode.DESTINATION and transform == ExitCode.DESTINATION, err
    assert 1 <= elapsed < 8, elapsed
    assert err.count("after waiting 1") == 2, err
    for bad in ("-1", "soon"):
        monkeypatch.setenv("WOODPECKER_ETL__LOCK_TIMEOUT", bad)
        assert main(_load(simulator, tmp_path)) == ExitCode.CONFIGURATION
        assert "lock timeout must be a number of seconds" in capsys.readouterr().err
    monkeypatch.delenv("WOODPECKER_ETL__LOCK_TIMEOUT")
    assert main(_load(simulator, tmp_path, "--lock-timeout", "-5")) == ExitCode.CONFIGURATION
    assert os.path.getsize(loaded) > 0
