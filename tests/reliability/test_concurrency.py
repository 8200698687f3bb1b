"""Concurrent runs: a second load or transform of a running pipeline is refused (exit code 6); a DuckDB
file held by another process's writer connection is a clear destination error (exit code 5)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from pipelines.exit_codes import ExitCode

from ..duckdb_holder import holding_duckdb
from .common import (
    NAME,
    Size,
    Tally,
    check_against_truth,
    dest_args,
    load_args,
    run_child,
    run_cli,
    spawn_cli,
    start_simulator,
)


def _wait_for_line(proc: subprocess.Popen[str], text: str) -> list[str]:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the child ended without printing {text!r}: {''.join(seen)[-500:]}")


def test_second_run_is_refused_while_one_runs_and_a_killed_holder_frees_the_lock(
    size: Size, tmp_path: Path
) -> None:
    sim = start_simulator(31, size, latency_s=0.1)  # the first run extracts for a few seconds
    try:
        holder = spawn_cli(load_args(sim, tmp_path))
        try:
            _wait_for_line(holder, "→ Extracting")
            second = run_cli(load_args(sim, tmp_path))
            transform = run_cli(["transform", *dest_args(tmp_path)])
            assert holder.poll() is None, "the first run ended before the second started"
        finally:
            os.kill(holder.pid, signal.SIGKILL)
            holder.communicate(timeout=30)
        assert second.code == transform.code == ExitCode.BUSY
        assert second.last_error == (
            f"error: Another woodpecker-etl run of pipeline 'woodpecker_{NAME}' is in progress "
            f"(process {holder.pid}); wait for it to finish, then run again "
            f"(lock file {tmp_path / 'pipelines' / f'woodpecker_{NAME}.lock'})."
        )
        assert "Traceback" not in second.err + transform.err
        sim.config.latency_s = 0.0
        after = run_cli(load_args(sim, tmp_path))  # the kill released the lock
        assert after.code == ExitCode.OK, after.err
        tally = Tally()
        check_against_truth(sim, tmp_path, set(), tally, "after the refused run")
        assert tally.clean, tally.problems
    finally:
        sim.stop()


def test_duckdb_file_held_by_a_writer_is_a_clear_destination_error(size: Size, tmp_path: Path) -> None:
    sim = start_simulator(32, size)
    try:
        assert run_cli(load_args(sim, tmp_path)).code == ExitCode.OK
        with holding_duckdb(tmp_path / f"{NAME}.duckdb", read_only=False):
            load = run_child(load_args(sim, tmp_path, "--lock-timeout", "0"))
            transform = run_cli(["transform", *dest_args(tmp_path), "--lock-timeout", "0"])
            status = run_cli(["status", *dest_args(tmp_path)])
    finally:
        sim.stop()
    for run in (load, transform, status):
        assert run.code == ExitCode.DESTINATION, run.err
        held = f"error: The DuckDB file {tmp_path / f'{NAME}.duckdb'} is locked by another process"
        assert run.last_error.startswith(held), run.err
        assert "read_only=True" in run.last_error and "blocks the load too" in run.last_error
        assert "Traceback" not in run.err
