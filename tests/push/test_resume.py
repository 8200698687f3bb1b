"""A push killed between batches resumes where it stopped: no batch reaches Woodpecker twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.exit_codes import ExitCode
from simulator import Simulator

from .conftest import email_index, push_cli, results, write_posts

ROOT = Path(__file__).resolve().parents[2]
ROWS, BATCH = 20, 5


def _wait_for(sim: Simulator, status: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(r.status == status for r in write_posts(sim)):
            return
        time.sleep(0.02)
    raise AssertionError(f"no {status} answer within {timeout_s} s: {[r.status for r in write_posts(sim)]}")


def test_killed_push_resumes_without_sending_a_batch_twice(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("email,first_name\n" + "".join(f"lead{n:02d}@example.org,Lead {n}\n" for n in range(ROWS)))
    # Batches 1 and 2 are answered; batch 3's first attempt gets a 503 and the client waits 60 s before
    # retrying: the process is killed during that wait, after recording batch 2 and before batch 3 lands.
    sim.faults.script([None, None, "unavailable"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCES__WOODPECKER__BACKOFF_FACTOR": "60"}
    where = ["--duckdb-path", str(tmp_path / "wp.duckdb"), "--pipelines-dir", str(tmp_path / "pipelines")]
    args = ["push", "--file", str(csv), "--batch-size", str(BATCH), "--base-url", sim.base_url, *where]
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args, "--api-key", sim.api_key],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(sim, 503)
    finally:
        process.send_signal(signal.SIGKILL)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert b"batch 2/4" in out and b"batch 3/4" not in out
    assert [r.status for r in write_posts(sim)] == [200, 200, 503]
    assert {r["batch"] for r in results(tmp_path)} == {1, 2}

    assert push_cli(sim, tmp_path, "--file", str(csv), "--batch-size", str(BATCH)) == ExitCode.OK
    assert "Resumed: 2 batch(es) already sent by an earlier run were skipped." in capsys.readouterr().out
    assert [r.status for r in write_posts(sim)] == [200, 200, 503, 200, 200]
    rows = results(tmp_path)
    index = email_index(sim)
    assert [r["batch"] for r in rows] == [b for b in range(1, ROWS // BATCH + 1) for _ in range(BATCH)]
    assert sorted(r["email"] for r in rows) == [f"lead{n:02d}@example.org" for n in range(ROWS)]
    assert all(r["outcome"] == "added" and r["prospect_id"] == index[r["email"]] for r in rows)
    assert len({r["push_id"] for r in rows}) == 1

    # A third run finds every batch recorded and sends nothing.
    assert push_cli(sim, tmp_path, "--file", str(csv), "--batch-size", str(BATCH)) == ExitCode.OK
    assert len(write_posts(sim)) == 5


def test_a_changed_input_is_a_new_push(sim: Simulator, tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("email\nfirst@example.org\n")
    assert push_cli(sim, tmp_path, "--file", str(csv)) == ExitCode.OK
    csv.write_text("email\nfirst@example.org\nsecond@example.org\n")
    assert push_cli(sim, tmp_path, "--file", str(csv)) == ExitCode.OK
    rows = results(tmp_path)
    assert len({r["push_id"] for r in rows}) == 2
    assert [(r["email"], r["outcome"]) for r in rows if r["email"] == "first@example.org"] == [
        ("first@example.org", "added"),
        ("first@example.org", "duplicate"),
    ]
