"""The sub-commands of `woodpecker-etl`; each returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from sources.woodpecker.progress import RunStats

from . import settings
from .accounts import Account, configured_names, select_accounts
from .errors import translate_error
from .exit_codes import CliError, ExitCode
from .lock import pipeline_lock
from .parallel import (
    AccountsRun,
    account_target,
    check_layout,
    default_workers,
    run_accounts,
    transform_accounts,
)
from .report import (
    accounts_record,
    accounts_summary,
    accounts_transform_summary,
    progress_ticker,
    status_text,
    summary,
    summary_record,
)
from .runner import LoadOptions, build_engagement_models, make_pipeline, row_counts, run_load


def _step(message: str) -> None:
    print(f"  → {message}", file=sys.stderr, flush=True)


def options_from_args(args: argparse.Namespace) -> LoadOptions:
    """Map parsed arguments to `LoadOptions`."""
    resources = getattr(args, "resources", None)
    spool = getattr(args, "webhook_spool", None)
    return LoadOptions(
        api_key=getattr(args, "api_key", None),
        base_url=getattr(args, "base_url", None),
        destination=args.destination,
        duckdb_path=args.duckdb_path,
        dataset=args.dataset,
        pipeline_name=args.pipeline_name,
        pipelines_dir=args.pipelines_dir,
        resources=[r.strip() for r in resources.split(",") if r.strip()] if resources else None,
        full_refresh=getattr(args, "full_refresh", False),
        reconcile=True if getattr(args, "reconcile", False) else None,
        transform=not getattr(args, "no_transform", False),
        source_options={"webhook_spool": spool} if spool else {},
    )


def execute_load(options: LoadOptions, summary_json: str | None = None) -> int:
    """Run a load with progress lines and print the summary (and write it as JSON if asked)."""
    stats = RunStats()
    print(f"Loading Woodpecker into {options.destination} …", file=sys.stderr, flush=True)
    with progress_ticker(stats):
        result = run_load(options, stats, on_step=_step)
    totals = row_counts(make_pipeline(options), settings.SOURCE_TABLES)
    print(summary(options, result, totals))
    if summary_json:
        Path(summary_json).write_text(json.dumps(summary_record(options, result, totals), indent=2))
    return int(ExitCode.OK)


def load(args: argparse.Namespace) -> int:
    """`woodpecker-etl load` (then `--dashboard PATH.html`: the dashboard exported from the new marts)."""
    if getattr(args, "accounts", None):
        if getattr(args, "dashboard", None):
            raise CliError(
                "--dashboard and --accounts exclude each other: export each account's dashboard with "
                "`woodpecker-etl dashboard --export PATH.html --dataset woodpecker_<account>`.",
                ExitCode.CONFIGURATION,
            )
        return execute_accounts(args)
    code = execute_load(options_from_args(args), summary_json=args.summary_json)
    if code == ExitCode.OK and getattr(args, "dashboard", None):
        from .dashboard import export, export_line, source_from_args

        print(export_line(*export(source_from_args(args), args.dashboard)))
    return code


def select_command_accounts(args: argparse.Namespace) -> tuple[list[str], list[Account]]:
    """Check the flags that go with `--accounts`; the configured account names and the selected accounts.

    Raises:
        CliError: a flag that excludes `--accounts`, or an account that is not configured.
    """
    if getattr(args, "api_key", None):
        raise CliError(
            "--api-key and --accounts exclude each other: with --accounts every key comes from the "
            "[accounts.<name>] configuration.",
            ExitCode.CONFIGURATION,
        )
    if getattr(args, "webhook_spool", None):
        raise CliError(
            "--webhook-spool and --accounts exclude each other: a spool holds one account's events, so "
            "set each account's own as ACCOUNTS__<NAME>__WEBHOOK_SPOOL (or webhook_spool under "
            "[accounts.<name>]).",
            ExitCode.CONFIGURATION,
        )
    if args.destination == "filesystem":
        raise CliError(
            f"--accounts does not support --destination {args.destination} yet: load each account on its "
            "own with its key, --dataset and --pipeline-name (docs/accounts.md).",
            ExitCode.CONFIGURATION,
        )
    check_layout(args.account_layout)
    names = configured_names()
    return names, select_accounts(args.accounts, names)


def _over_accounts(args: argparse.Namespace, doing: str, run: Callable[..., AccountsRun]) -> AccountsRun:
    """Select the accounts of `--accounts`, announce what happens to them and run `run` over them."""
    names, accounts = select_command_accounts(args)
    base = options_from_args(args)
    workers = args.workers if args.workers is not None else default_workers(len(accounts))
    print(
        f"{doing.format(n=len(accounts), destination=base.destination)} "
        f"({args.account_layout} layout, {workers} at a time) …",
        file=sys.stderr,
        flush=True,
    )
    return run(base, accounts, args.account_layout, workers, say=_step, union_accounts=names)


def execute_accounts(args: argparse.Namespace) -> int:
    """`woodpecker-etl load --accounts …`: load several configured accounts in parallel."""
    run = _over_accounts(args, "Loading {n} Woodpecker account(s) into {destination}", run_accounts)
    base = options_from_args(args)
    print(accounts_summary(base, run))
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(accounts_record(base, run), indent=2))
    return int(run.exit_code())


def transform(args: argparse.Namespace) -> int:
    """`woodpecker-etl transform`: rebuild the engagement tables from what is loaded."""
    from .report import models_line

    if getattr(args, "accounts", None):
        return transform_accounts_command(args)
    options = options_from_args(args)
    with pipeline_lock(options.pipelines_dir, options.pipeline_name):
        report = build_engagement_models(make_pipeline(options), options.duckdb_path)
    print(f"Engagement tables: {models_line(report)}")
    return int(ExitCode.OK)


def transform_accounts_command(args: argparse.Namespace) -> int:
    """`woodpecker-etl transform --accounts …`: rebuild each account's engagement tables and the views."""
    doing = "Rebuilding the engagement tables of {n} account(s) in {destination}"
    run = _over_accounts(args, doing, transform_accounts)
    print(accounts_transform_summary(options_from_args(args), run))
    return int(run.exit_code())


def status(args: argparse.Namespace) -> int:
    """`woodpecker-etl status`: last run, cursors and row counts."""
    if getattr(args, "accounts", None):
        return status_accounts(args)
    print(status_block(options_from_args(args)))
    return int(ExitCode.OK)


def status_accounts(args: argparse.Namespace) -> int:
    """`woodpecker-etl status --accounts …`: the status of each selected account, one block each."""
    _, accounts = select_command_accounts(args)
    base = options_from_args(args)
    errors: list[CliError] = []
    for n, account in enumerate(accounts):
        if n:
            print()
        print(f"Account {account.name}")
        try:
            print(status_block(account_target(base, account.name, args.account_layout)))
        except Exception as exc:
            error = translate_error(exc, account.api_key)
            errors.append(error)
            print(f"  error: {error}")
    if not errors:
        return int(ExitCode.OK)
    if len(errors) < len(accounts):
        return int(ExitCode.PARTIAL)
    codes = {error.code for error in errors}
    return int(codes.pop() if len(codes) == 1 else ExitCode.FAILURE)


def status_block(options: LoadOptions) -> str:
    """The status of one pipeline: last run, cursors and row counts (an account's rows only, if set)."""
    pipeline = make_pipeline(options)
    trace = pipeline.last_trace
    last = None
    if trace is not None:
        outcome = "failed" if any(step.step_exception for step in trace.steps) else "succeeded"
        last = f"{trace.started_at} ({outcome})"
    totals = (
        row_counts(pipeline, settings.SOURCE_TABLES, options.account_id)
        if Path(options.duckdb_path).exists() or (options.destination != "duckdb")
        else {}
    )
    return status_text(options, pipeline.state, totals, last)


def push(args: argparse.Namespace) -> int:
    """`woodpecker-etl push`: send prospects to Woodpecker (see docs/push.md)."""
    from .push import PushOptions, run_push

    return run_push(
        PushOptions(
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
    )


def demo(args: argparse.Namespace) -> int:
    """`woodpecker-etl demo`: start the bundled simulator and load it into a local DuckDB file."""
    from .demo import run_demo

    return run_demo(
        prospects=args.prospects, campaigns=args.campaigns, seed=args.seed, duckdb_path=args.duckdb_path
    )
