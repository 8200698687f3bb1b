"""`woodpecker-etl dashboard`: serve the engagement dashboard on 127.0.0.1, or `--export` it to a file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass

from .. import defaults
from ..exit_codes import CliError, ExitCode
from . import arguments
from .command import Command

NAME = "dashboard"


def add_arguments(dashboard: argparse.ArgumentParser) -> None:
    """The arguments of `dashboard`."""
    dashboard.add_argument(
        "--export", default=None, metavar="PATH.html", help="write one offline HTML file instead of serving"
    )
    arguments.add_listen_args(dashboard, "127.0.0.1", defaults.DASHBOARD_PORT)
    arguments.add_destination_args(dashboard)


@dataclass(frozen=True)
class DashboardArgs:
    """The options of `dashboard`.

    Attributes:
        destination: Where the marts are.
        export: Write one offline HTML file there instead of serving (None: serve).
        host: The interface the live page listens on.
        port: Its port (0: any free one).
    """

    destination: arguments.DestinationArgs
    export: str | None
    host: str
    port: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DashboardArgs:
        """Read from parsed arguments."""
        return cls(arguments.DestinationArgs.from_args(args), args.export, args.host, args.port)


def run(options: DashboardArgs) -> int:
    """`woodpecker-etl dashboard [--export PATH.html]`."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from ..dashboard.charts_bundle import INSTALL_HINT, vega_bundle
    from ..dashboard.export import export, export_line
    from ..dashboard.marts import MartSource

    where = options.destination
    source = MartSource(
        where.destination, where.duckdb_path, where.dataset, where.pipeline_name, where.pipelines_dir
    )
    vega_bundle()  # a missing extra is one clear line before anything else
    source.check()
    if options.export:
        print(export_line(*export(source, options.export)))
        return int(ExitCode.OK)
    try:
        import uvicorn  # noqa: F401  (the live server's one extra dependency)

        from ..dashboard.server import serve
    except ImportError as exc:
        raise CliError(INSTALL_HINT, ExitCode.CONFIGURATION) from exc

    def ready(url: str) -> None:
        print(f"Dashboard on {url} (read-only, {source.label}; Ctrl-C stops)", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        serve(source, options.host, options.port, ready)
    print("Dashboard stopped.", file=sys.stderr)
    return int(ExitCode.OK)


HELP = "serve the engagement dashboard or --export it"
DESCRIPTION = (
    "Serve the engagement dashboard over the loaded marts on http://HOST:PORT (read-only), "
    "or write it as one self-contained HTML file with --export (docs/dashboard.md)."
)
COMMAND = Command(NAME, HELP, add_arguments, DashboardArgs.from_args, run, description=DESCRIPTION)
