"""One load at a time per pipeline (an exclusive `fcntl.flock`), and waiting for a DuckDB file in use.

DuckDB lets one process open a database file for writing, or any number of processes open it
read-only, never both: a notebook or BI tool holding the file open, even with `read_only=True`, blocks
a load. `wait_for_duckdb_file` waits for such connections to close, up to a time limit (`--lock-timeout`,
`[woodpecker_etl] lock_timeout`, default 60 s), then gives up with exit code 5 and a message naming
the file, the other process and the fix.

Two `woodpecker-etl load` runs of the same pipeline would extract from the same cursors and race to
commit the same state and load packages. The second one is refused at once (exit code 6) instead.

The lock file is `<pipelines dir>/<pipeline name>.lock`, next to the working dir rather than inside it:
dlt wipes a working dir that holds no state yet, which would delete a lock held during a first run.
`flock` locks belong to the open file, so the operating system releases them when the holder exits in
any way, including `kill -9`: a crashed run never leaves a stale lock behind. The file stays on disk
and holds the process id of the last holder, for the error message.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dlt
from dlt.common.pipeline import get_dlt_pipelines_dir

from . import defaults
from .exit_codes import CliError, ExitCode

LOCK_SUFFIX = ".lock"


def configured_lock_timeout(flag: float | None) -> float:
    """Seconds to wait for the DuckDB file: `--lock-timeout`, else `[woodpecker_etl] lock_timeout`.

    Raises:
        CliError: a value that is not a number of seconds >= 0 (exit code 2).
    """
    value: object = flag if flag is not None else dlt.config.get(defaults.LOCK_TIMEOUT_CONFIG)
    if value is None:
        return defaults.LOCK_TIMEOUT_S
    try:
        seconds = float(str(value))
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise CliError(
            f"The lock timeout must be a number of seconds >= 0 (--lock-timeout or "
            f"{defaults.LOCK_TIMEOUT_CONFIG}), got {value!r}.",
            ExitCode.CONFIGURATION,
        )
    return seconds


def lock_path(pipelines_dir: str | None, pipeline_name: str) -> Path:
    """The lock file of a pipeline (dlt's default pipelines dir when `pipelines_dir` is None)."""
    if pipelines_dir is None:
        pipelines_dir = get_dlt_pipelines_dir()
    return Path(pipelines_dir) / f"{pipeline_name}{LOCK_SUFFIX}"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


@contextmanager
def pipeline_lock(pipelines_dir: str | None, pipeline_name: str) -> Iterator[Path]:
    """Hold the pipeline's lock for the duration of the block.

    Args:
        pipelines_dir: Where dlt keeps the pipeline (None: dlt's default).
        pipeline_name: The pipeline's name.

    Yields:
        The lock file's path.

    Raises:
        CliError: `ExitCode.BUSY` when another process holds the lock.
    """
    path = lock_path(pipelines_dir, pipeline_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CliError(
                f"Another woodpecker-etl run of pipeline {pipeline_name!r} is in progress{_holder(path)}; "
                f"wait for it to finish, then run again (lock file {path}).",
                ExitCode.BUSY,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


_LOCKED_FILE = re.compile(r'Could not set lock on file "([^"]+)"')
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")


def is_duckdb_lock_error(text: str) -> bool:
    """True when a DuckDB error says another process holds the file."""
    return "Could not set lock" in text or "Conflicting lock" in text


def duckdb_locked_error(text: str, path: str | None = None, waited_s: float | None = None) -> CliError:
    """The one-line error for a DuckDB file held by another process (exit code 5).

    Args:
        text: DuckDB's error message (it names the file and the holder's process id).
        path: The file, when DuckDB's message does not name it.
        waited_s: How long the load waited for the file, if it did.
    """
    found = _LOCKED_FILE.search(text)
    name = found.group(1) if found else path or "the DuckDB file"
    pid = _HOLDER_PID.search(text)
    holder = f" (process {pid.group(1)})" if pid else ""
    waited = f" after waiting {waited_s:g} s" if waited_s else ""
    return CliError(
        f"The DuckDB file {name} is locked by another process{holder}{waited}. DuckDB allows one writing "
        "process or any number of readers, never both, so a reader opened with read_only=True (a notebook, "
        "a BI tool, a duckdb shell) blocks the load too: close those connections or have them connect per "
        "query, then run again (or wait longer with --lock-timeout).",
        ExitCode.DESTINATION,
    )


def wait_for_duckdb_file(
    path: str, timeout_s: float, say: Callable[[str], None] | None = None, poll_s: float = 0.25
) -> None:
    """Return once no other process holds the DuckDB file; wait up to `timeout_s` seconds for that.

    A file that does not exist yet is not waited for (and not created).

    Raises:
        CliError: still held after `timeout_s` (exit code 5).
    """
    import duckdb

    if not os.path.isfile(path):
        return
    started = time.monotonic()
    announced = False
    while True:
        try:
            duckdb.connect(path).close()
            return
        except duckdb.Error as exc:
            text = str(exc)
            if not is_duckdb_lock_error(text):
                return  # anything else is for the load itself to report
            waited = time.monotonic() - started
            if waited >= timeout_s:
                raise duckdb_locked_error(text, path, round(waited, 1) if timeout_s else None) from None
            if not announced and say is not None:
                pid = _HOLDER_PID.search(text)
                holder = f" (process {pid.group(1)})" if pid else ""
                say(f"Waiting up to {timeout_s:g} s for another process{holder} to close {path}")
                announced = True
            time.sleep(min(poll_s, max(0.0, timeout_s - waited)))
