"""`woodpecker-etl load`: load the account (or the `--accounts`), incrementally by default."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..exit_codes import CliError, ExitCode
from ..load_options import LoadOptions
from . import arguments
from .command import Command
from .written_files import check_written_files

NAME = "load"


def add_arguments(load: argparse.ArgumentParser) -> None:
    """The arguments of `load`."""
    load.add_argument("--full-refresh", action="store_true", help="drop loaded tables and state, reload")
    load.add_argument(
        "--reconcile", action="store_true", help="full scan now to detect records deleted in Woodpecker"
    )
    load.add_argument(
        "--resources",
        default=None,
        type=arguments.name_list,
        metavar="NAME,…",
        help="comma-separated resources to load (default: all)",
    )
    arguments.add_api_args(load)
    load.add_argument("--no-transform", action="store_true", help="do not rebuild the engagement tables")
    load.add_argument(
        "--webhook-spool",
        default=None,
        metavar="DIR",
        help="also load the events the webhook receiver spooled in DIR (default: "
        "sources.woodpecker.webhook_spool, else none)",
    )
    arguments.add_accounts_args(load, "load", workers=True)
    load.add_argument(
        "--summary-json",
        default=None,
        metavar="PATH",
        help="also write the run summary as JSON to PATH, whose directory must exist (default: not written)",
    )
    load.add_argument(
        "--dashboard",
        default=None,
        metavar="PATH.html",
        help="after a successful load, export the dashboard to PATH.html (default: none)",
    )
    arguments.add_destination_args(load)
    arguments.add_lock_timeout_arg(load)


@dataclass(frozen=True)
class LoadArgs:
    """The options of `load`.

    Attributes:
        destination: Where the data goes.
        api: Which API, with which key.
        accounts: `--accounts`, `--account-layout`, `--workers`.
        full_refresh: Drop the loaded tables and state, then reload.
        reconcile: Full scan now to detect records deleted in Woodpecker.
        resources: The resources to load (None: all).
        transform: Rebuild the engagement tables after the load.
        webhook_spool: A receiver's spool to load the events of (None: the configured one, if any).
        summary_json: Where to write the run summary as JSON (None: not written).
        dashboard: Where to export the dashboard after a successful load (None: not exported).
        lock_timeout: `--lock-timeout` (None: the configured one, else the default).
    """

    destination: arguments.DestinationArgs
    api: arguments.ApiArgs
    accounts: arguments.AccountsArgs
    full_refresh: bool
    reconcile: bool
    resources: tuple[str, ...] | None
    transform: bool
    webhook_spool: str | None
    summary_json: str | None
    dashboard: str | None
    lock_timeout: float | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LoadArgs:
        """Read from parsed arguments."""
        resources = (
            tuple(r.strip() for r in args.resources.split(",") if r.strip()) if args.resources else None
        )
        return cls(
            destination=arguments.DestinationArgs.from_args(args),
            api=arguments.ApiArgs.from_args(args),
            accounts=arguments.AccountsArgs.from_args(args, workers=True),
            full_refresh=args.full_refresh,
            reconcile=args.reconcile,
            resources=resources or None,
            transform=not args.no_transform,
            webhook_spool=args.webhook_spool,
            summary_json=args.summary_json,
            dashboard=args.dashboard,
            lock_timeout=args.lock_timeout,
        )

    def load_options(self, lock_timeout: float) -> LoadOptions:
        """The `LoadOptions` of this load (of every account's, with `--accounts`)."""
        return replace(
            self.destination.load_options(lock_timeout, self.api),
            resources=list(self.resources) if self.resources else None,
            full_refresh=self.full_refresh,
            reconcile=True if self.reconcile else None,
            transform=self.transform,
            source_options={"webhook_spool": self.webhook_spool} if self.webhook_spool else {},
        )


def run(options: LoadArgs) -> int:
    """`woodpecker-etl load` (then `--dashboard PATH.html`: the dashboard exported from the new marts)."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from ..dashboard.export import export, export_line
    from ..dashboard.marts import MartSource
    from ..lock import configured_lock_timeout
    from ..many_accounts import run_accounts
    from ..report import accounts_record, accounts_summary, execute_load
    from ..selected_accounts import over_accounts, select_command_accounts

    where = options.destination
    check_written_files(where.destination, where.duckdb_path, where.pipelines_dir, options.summary_json)
    if options.accounts.accounts:
        if options.dashboard:
            raise CliError(
                "--dashboard and --accounts exclude each other: export each account's dashboard with "
                "`woodpecker-etl dashboard --export PATH.html --dataset woodpecker_<account>`.",
                ExitCode.CONFIGURATION,
            )
        selection = select_command_accounts(
            options.accounts.accounts,
            options.accounts.layout,
            options.accounts.workers,
            where.destination,
            api_key=options.api.api_key,
            webhook_spool=options.webhook_spool,
        )
        base = options.load_options(configured_lock_timeout(options.lock_timeout))
        accounts_run = over_accounts(
            selection, base, "Loading {n} Woodpecker account(s) into {destination}", run_accounts
        )
        print(accounts_summary(base, accounts_run))
        if options.summary_json:
            Path(options.summary_json).write_text(json.dumps(accounts_record(base, accounts_run), indent=2))
        return int(accounts_run.exit_code())
    load_options = options.load_options(configured_lock_timeout(options.lock_timeout))
    code = execute_load(load_options, summary_json=options.summary_json)
    if code == ExitCode.OK and options.dashboard:
        source = MartSource(
            where.destination, where.duckdb_path, where.dataset, where.pipeline_name, where.pipelines_dir
        )
        print(export_line(*export(source, options.dashboard)))
    return code


def api_key(options: LoadArgs) -> str | None:
    """The key given with `--api-key`."""
    return options.api.api_key


HELP = "load the account (incremental by default)"
INTERRUPTED = "interrupted; the next `load` resumes"
COMMAND = Command(
    NAME, HELP, add_arguments, LoadArgs.from_args, run, interrupted=INTERRUPTED, api_key=api_key
)
