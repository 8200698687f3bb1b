"""A DuckDB file held open by another process, as a notebook, a BI tool or a second writer would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def holding_duckdb(db: Path, read_only: bool, release_after_s: float | None = None) -> Iterator[int]:
    """A child process that holds `db` open until the block ends (or for `release_after_s`); yields its pid.

    Args:
        db: The DuckDB file.
        read_only: Open it read-only and read `woodpecker.prospects` (a reader), or open it for writing
            and create a table (a writer).
        release_after_s: Close the file after this many seconds instead of at the end of the block.
    """
    touch = (
        'con.sql("SELECT COUNT(*) FROM woodpecker.prospects").fetchall()'
        if read_only
        else 'con.execute("CREATE TABLE IF NOT EXISTS held(x INT)")'
    )
    hold = f"time.sleep({release_after_s})" if release_after_s is not None else "sys.stdin.read()"
    script = f"""
        import duckdb, sys, time
        con = duckdb.connect({str(db)!r}, read_only={read_only})
        {touch}
        print("ready", flush=True)
        {hold}
        con.close()
    """
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        yield child.pid
    finally:
        child.communicate("", timeout=60)
