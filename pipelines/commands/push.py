"""`woodpecker-etl push`: send prospects from a table, query or file to Woodpecker (docs/push.md)."""

from __future__ import annotations

import argparse

from .. import defaults
from ..push.options import PushOptions
from . import arguments
from .command import Command
from .written_files import check_written_files

NAME = "push"


def add_arguments(push: argparse.ArgumentParser) -> None:
    """The arguments of `push`."""
    source = push.add_mutually_exclusive_group(required=True)
    one = "(one of --table, --query, --file is required)"
    source.add_argument("--table", default=None, help=f"table of the destination dataset to push {one}")
    source.add_argument("--query", default=None, metavar="SQL", help=f"SQL run on the destination {one}")
    source.add_argument(
        "--file",
        default=None,
        metavar="PATH",
        help="CSV (delimiter detected; headers matched ignoring case and spaces) or Parquet file to push "
        f"{one}",
    )
    push.add_argument(
        "--campaign-id", type=int, default=None, help="add to this campaign (default: the database only)"
    )
    push.add_argument(
        "--send-after",
        default=None,
        metavar="ISO8601",
        help="earliest contact time, campaign only (default: as the campaign sends)",
    )
    push.add_argument("--update", action="store_true", help="update existing prospects, not duplicates")
    push.add_argument(
        "--force",
        action="store_true",
        help="enrol prospects whose status is not ACTIVE (may re-contact people who replied or opted out)",
    )
    push.add_argument("--dry-run", action="store_true", help="validate and show what would be sent")
    push.add_argument(
        "--batch-size",
        type=int,
        default=defaults.PUSH_BATCH_SIZE,
        help="prospects per request, 1 to 20000 (the API's limit)",
    )
    push.add_argument(
        "--file-name",
        default=None,
        help="import name shown in Woodpecker (default: woodpecker-etl push <id>)",
    )
    arguments.add_api_args(push)
    arguments.add_destination_args(push)


def options(args: argparse.Namespace) -> PushOptions:
    """The `PushOptions` of parsed arguments."""
    return PushOptions(
        table=args.table,
        query=args.query,
        file=args.file,
        campaign_id=args.campaign_id,
        send_after=args.send_after,
        update=args.update,
        force=args.force,
        dry_run=args.dry_run,
        batch_size=args.batch_size,
        file_name=args.file_name,
        api_key=args.api_key,
        base_url=args.base_url,
        destination=args.destination,
        duckdb_path=args.duckdb_path,
        dataset=args.dataset,
        pipelines_dir=args.pipelines_dir,
    )


def run(options: PushOptions) -> int:
    """`woodpecker-etl push`: send prospects to Woodpecker, batch by batch, resumably."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from ..push.run import run_push

    check_written_files(options.destination, options.duckdb_path, options.pipelines_dir)
    return run_push(options)


def api_key(options: PushOptions) -> str | None:
    """The key given with `--api-key`."""
    return options.api_key


HELP = "send prospects from a table, query or file to Woodpecker (see docs/push.md)"
INTERRUPTED = "interrupted; the next `push` of the same input resumes (batches already sent are skipped)"
COMMAND = Command(NAME, HELP, add_arguments, options, run, interrupted=INTERRUPTED, api_key=api_key)
