"""One load at a time per pipeline: an exclusive `fcntl.flock` on a file beside the pipeline's working dir.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .exit_codes import CliError, ExitCode

LOCK_SUFFIX = ".lock"


def lock_path(pipelines_dir: str | None, pipeline_name: str) -> Path:
    """The lock file of a pipeline (dlt's default pipelines dir when `pipelines_dir` is None)."""
    if pipelines_dir is None:
        from dlt.common.pipeline import get_dlt_pipelines_dir

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
