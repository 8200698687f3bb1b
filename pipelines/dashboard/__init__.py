"""`woodpecker-etl dashboard`: the engagement dashboard, live on 127.0.0.1 or exported as one HTML file.

Built only from the engagement marts (docs/dashboard.md); `marts` reads them, `page` renders the page,
`server` serves it live, `stats` holds the interval and test the page computes.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from .. import defaults
from ..exit_codes import CliError, ExitCode
from .marts import MartSource

DEFAULT_PORT = defaults.DASHBOARD_PORT


def source_from_args(args: argparse.Namespace) -> MartSource:
    """The marts of the destination named by the usual destination flags."""
    return MartSource(
        destination=args.destination,
        duckdb_path=args.duckdb_path,
        dataset=args.dataset,
        pipeline_name=getattr(args, "pipeline_name", defaults.PIPELINE_NAME),
        pipelines_dir=getattr(args, "pipelines_dir", None),
    )


def export(source: MartSource, path: str | Path) -> tuple[Path, int, float]:
    """Write the dashboard of `source` as one self-contained HTML file; its path, bytes and seconds."""
    from .marts import build_payload
    from .page import render, write_atomically

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


def run(args: argparse.Namespace) -> int:
    """`woodpecker-etl dashboard [--export PATH.html]`."""
    from .charts_bundle import vega_bundle

    source = source_from_args(args)
    vega_bundle()  # a missing extra is one clear line before anything else
    source.check()
    if args.export:
        print(export_line(*export(source, args.export)))
        return int(ExitCode.OK)
    try:
        import uvicorn  # noqa: F401  (the live server's one extra dependency)

        from .server import serve
    except ImportError as exc:
        from .charts_bundle import INSTALL_HINT

        raise CliError(INSTALL_HINT, ExitCode.CONFIGURATION) from exc

    def ready(url: str) -> None:
        print(f"Dashboard on {url} (read-only, {source.label}; Ctrl-C stops)", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        serve(source, args.host, args.port, ready)
    print("Dashboard stopped.", file=sys.stderr)
    return int(ExitCode.OK)
