"""The dashboard written as one self-contained HTML file (`dashboard --export`, `load --dashboard`)."""

from __future__ import annotations

import time
from pathlib import Path

from ..exit_codes import CliError, ExitCode
from .marts import MartSource, build_payload
from .page import render, write_atomically


def export(source: MartSource, path: str | Path) -> tuple[Path, int, float]:
    """Write the dashboard of `source` as one self-contained HTML file; its path, bytes and seconds."""
    started = time.perf_counter()
    page = render(build_payload(source))
    try:
        target = write_atomically(path, page)
    except OSError as exc:
        raise CliError(
            f"Cannot write the dashboard to {path}: {exc.strerror or exc}.", ExitCode.CONFIGURATION
        ) from exc
    return target, target.stat().st_size, time.perf_counter() - started


def export_line(path: Path, size: int, seconds: float) -> str:
    """The line printed after an export."""
    return (
        f"Dashboard written to {path.resolve()} ({size / 1e6:.1f} MB, {seconds:.1f} s); open it in a browser."
    )
