"""`woodpecker-etl`: load a Woodpecker account, rebuild engagement tables, push prospects, run the demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from . import settings
from .exit_codes import CliError, ExitCode


def _add_destination_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--destination",
        default=settings.DESTINATION,
        help="any dlt destination name; credentials come from .dlt/secrets.toml or env (default: duckdb)",
    )
    parser.add_argument(
        "--duckdb-path",
        default=settings.DUCKDB_PATH,
        help="DuckDB file of the duckdb destination, and where a filesystem (Parquet) destination's "
        "engagement tables are built (default: ./woodpecker_etl.duckdb)",
    )
    parser.add_argument("--dataset", default=settings.DATASET_NAME, help="dataset / schema name")
    parser.add_argument("--pipeline-name", default=settings.PIPELINE_NAME, help=argparse.SUPPRESS)
    parser.add_argument("--pipelines-dir", default=None, help="where dlt keeps pipeline state locally")


def _add_accounts_args(parser: argparse.ArgumentParser, verb: str, workers: bool) -> None:
    """`--accounts` and `--account-layout` (and `--workers`) of the commands that run several accounts."""
    parser.add_argument(
        "--accounts",
        default=None,
        metavar="all|NAME,…",
        help=f"{verb} these accounts of the [accounts.<name>] configuration (docs/accounts.md)",
    )
    if workers:
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="accounts run at the same time (default: min(4, accounts))",
        )
    parser.add_argument(
        "--account-layout",
        choices=("dataset", "column"),
        default=settings.ACCOUNT_LAYOUT,
        help="dataset: one dataset per account; column: shared tables with account_id (default: dataset)",
    )


def _add_push_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    push = commands.add_parser(
        "push", help="send prospects from a table, query or file to Woodpecker (see docs/push.md)"
    )
    source = push.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", default=None, help="table of the destination dataset to push")
    source.add_argument("--query", default=None, metavar="SQL", help="SQL run on the destination")
    source.add_argument("--file", default=None, metavar="PATH", help="CSV or Parquet file to push")
    push.add_argument(
        "--campaign-id", type=int, default=None, help="add to this campaign (default: database only)"
    )
    push.add_argument(
        "--send-after", default=None, metavar="ISO8601", help="earliest contact time (campaign only)"
    )
    push.add_argument("--update", action="store_true", help="update existing prospects, not duplicates")
    push.add_argument(
        "--force",
        action="store_true",
        help="enrol prospects whose status is not ACTIVE (may re-contact people who replied or opted out)",
    )
    push.add_argument("--dry-run", action="store_true", help="validate and show what would be sent")
    push.add_argument(
        "--batch-size", type=int, default=20_000, help="prospects per request (1-20000, default 20000)"
    )
    push.add_argument("--file-name", default=None, help="import name shown in Woodpecker")
    push.add_argument("--base-url", default=None, help="API scheme and host")
    push.add_argument("--api-key", default=None, help="API key (prefer SOURCES__WOODPECKER__API_KEY)")
    _add_destination_args(push)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `woodpecker-etl`."""
    parser = argparse.ArgumentParser(
        prog="woodpecker-etl",
        description="Load a Woodpecker.co account into DuckDB or any dlt destination.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    load = commands.add_parser("load", help="load the account (incremental by default)")
    load.add_argument("--full-refresh", action="store_true", help="drop loaded tables and state, reload")
    load.add_argument(
        "--reconcile", action="store_true", help="full scan now to detect records deleted in Woodpecker"
    )
    load.add_argument("--resources", default=None, help="comma-separated resources to load (default: all)")
    load.add_argument(
        "--base-url", default=None, help="API scheme and host (default: https://api.woodpecker.co)"
    )
    load.add_argument(
        "--api-key", default=None, help="API key (prefer SOURCES__WOODPECKER__API_KEY or .dlt/secrets.toml)"
    )
    load.add_argument("--no-transform", action="store_true", help="do not rebuild the engagement tables")
    load.add_argument(
        "--webhook-spool",
        default=None,
        metavar="DIR",
        help="also load the events the webhook receiver spooled in DIR (or sources.woodpecker.webhook_spool)",
    )
    _add_accounts_args(load, "load", workers=True)
    load.add_argument(
        "--summary-json", default=None, metavar="PATH", help="also write the run summary as JSON to PATH"
    )
    load.add_argument(
        "--dashboard", default=None, metavar="PATH.html", help="after a successful load, export the dashboard"
    )
    _add_destination_args(load)

    transform = commands.add_parser("transform", help="rebuild the engagement tables only")
    _add_accounts_args(transform, "rebuild the engagement tables of", workers=True)
    _add_destination_args(transform)

    status = commands.add_parser("status", help="last run, cursors and row counts")
    _add_accounts_args(status, "show", workers=False)
    _add_destination_args(status)

    _add_push_parser(commands)

    dashboard = commands.add_parser("dashboard", help="serve the engagement dashboard or --export it")
    dashboard.add_argument("--export", default=None, metavar="PATH.html", help="write one offline HTML file")
    dashboard.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    dashboard.add_argument("--port", type=int, default=8790, help="port (default 8790; 0: any free port)")
    _add_destination_args(dashboard)

    demo = commands.add_parser("demo", help="load the bundled simulator into ./woodpecker_demo.duckdb")
    demo.add_argument("--prospects", type=int, default=settings.DEMO_PROSPECTS)
    demo.add_argument("--campaigns", type=int, default=settings.DEMO_CAMPAIGNS)
    demo.add_argument("--seed", type=int, default=settings.DEMO_SEED)
    demo.add_argument("--duckdb-path", default=settings.DEMO_DUCKDB_PATH)

    from .webhooks import add_parser

    add_parser(commands)
    return parser


def _configure_logging(verbosity: int) -> None:
    if verbosity:
        level = "DEBUG" if verbosity > 1 else "INFO"
        os.environ["RUNTIME__LOG_LEVEL"] = level
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _dispatch(args: argparse.Namespace) -> int:
    from . import commands

    if args.command == "load":
        return commands.load(args)
    if args.command == "transform":
        return commands.transform(args)
    if args.command == "status":
        return commands.status(args)
    if args.command == "push":
        return commands.push(args)
    if args.command == "dashboard":
        from . import dashboard

        return dashboard.run(args)
    if args.command == "webhooks":
        from . import webhooks

        return webhooks.dispatch(args)
    return commands.demo(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    # Machines running scheduled loads are often offline: no anonymous usage events unless asked for.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("Interrupted; the next run resumes from the last committed state.", file=sys.stderr)
        return int(ExitCode.FAILURE)
    except Exception as exc:
        if args.traceback:
            raise
        from .errors import translate_error

        error = exc if isinstance(exc, CliError) else translate_error(exc, getattr(args, "api_key", None))
        print(f"error: {error}", file=sys.stderr)
        return int(error.code)


if __name__ == "__main__":
    sys.exit(main())
