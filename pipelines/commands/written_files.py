"""The files a command will write can be written: refused in one line at once, not after an hour's load."""

from __future__ import annotations

import os
from pathlib import Path

from .. import defaults
from ..exit_codes import CliError, ExitCode


def check_writable(option: str, path: Path, created: Path | None = None) -> None:
    """Refuse a file path whose directory is missing or not writable, before any work is done.

    Args:
        option: The option that named the path, for the message.
        path: The file the command will write.
        created: A directory the command creates itself (`--pipelines-dir`): a file in it or in one of
            its parents that do not exist yet is accepted.

    Raises:
        CliError: `ExitCode.CONFIGURATION`, naming the path and the fix.
    """
    if path.is_dir():
        raise CliError(
            f"{option} {path} is a directory; give a file path, e.g. {path / 'woodpecker_etl.duckdb'}.",
            ExitCode.CONFIGURATION,
        )
    parent = path.parent
    if created is not None and not parent.exists():
        made, wanted = created.absolute(), parent.absolute()
        if made == wanted or wanted in made.parents:
            return
    if not parent.is_dir():
        raise CliError(
            f"{option} {path}: the directory {parent} does not exist; create it (mkdir -p {parent}) or "
            "choose another path.",
            ExitCode.CONFIGURATION,
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        where = path if path.exists() else parent
        raise CliError(
            f"{option} {path}: {where} is not writable by this user; choose another path or fix its "
            "permissions.",
            ExitCode.CONFIGURATION,
        )


def check_written_files(
    destination: str, duckdb_path: str, pipelines_dir: str | None, summary_json: str | None = None
) -> None:
    """The `--summary-json` file and a DuckDB (or filesystem) destination's file can be written.

    Raises:
        CliError: `ExitCode.CONFIGURATION`, naming the path and the fix.
    """
    created = Path(pipelines_dir) if pipelines_dir else None
    if summary_json:
        check_writable("--summary-json", Path(summary_json), created)
    if duckdb_path and destination in defaults.DUCKDB_FILE_DESTINATIONS:
        check_writable("--duckdb-path", Path(duckdb_path), created)
