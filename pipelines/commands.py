"""The sub-commands of `woodpecker-etl`; each returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sources.woodpecker.progress import RunStats

from . import defaults
from .accounts import Account, configured_names, select_accounts
from .destination_state import NothingLoaded, loaded_target, local_state_is_ours
from .error_messages import translate_error
from .exit_codes import CliError, ExitCode
from .load_run import (
    LoadOptions,
    build_engagement_models,
    incomplete_error,
    make_pipeline,
    row_counts,
    run_load,
    test_engagement_models,
)
from .lock import pipeline_lock, wait_for_duckdb_file
from .many_accounts import (
    AccountsRun,
    account_target,
    check_layout,
    default_workers,
    run_accounts,
    transform_accounts,
)
from .marts_state import marts_line, read_marts_state
from .report import (
    accounts_record,
    accounts_summary,
    accounts_transform_summary,
    progress_ticker,
    status_text,
    summary,
    summary_record,
)


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
        lock_timeout=lock_timeout(getattr(args, "lock_timeout", None)),
    )


def lock_timeout(flag: float | None) -> float:
    """Seconds to wait for the DuckDB file: `--lock-timeout`, else `[woodpecker_etl] lock_timeout`.

    Raises:
        CliError: a value that is not a number of seconds >= 0 (exit code 2).
    """
    import dlt

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


def execute_load(options: LoadOptions, summary_json: str | None = None) -> int:
    """Run a load with progress lines and print the summary (and write it as JSON if asked)."""
    stats = RunStats()
    print(f"Loading Woodpecker into {options.destination} …", file=sys.stderr, flush=True)
    with progress_ticker(stats):
        result = run_load(options, stats, on_step=_step)
    totals = row_counts(make_pipeline(options), defaults.SOURCE_TABLES)
    if summary_json:
        Path(summary_json).write_text(json.dumps(summary_record(options, result, totals), indent=2))
    error = incomplete_error(result)
    if error is not None:
        print(summary(options, result, totals))
        raise error
    print(summary(options, result, totals))
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
        if getattr(args, "test", False):
            message = "transform --test runs on one pipeline; leave out --accounts"
            raise CliError(message, ExitCode.CONFIGURATION)
        return transform_accounts_command(args)
    options = options_from_args(args)
    if options.destination in defaults.DUCKDB_FILE_DESTINATIONS:
        wait_for_duckdb_file(options.duckdb_path, options.lock_timeout, _step)
    with ExitStack() as held:
        # A running load of this pipeline comes first: "busy", even when it has loaded nothing yet.
        held.enter_context(pipeline_lock(options.pipelines_dir, options.pipeline_name))
        target, pipeline, _ = loaded_target(options)
        if target.pipeline_name != options.pipeline_name:  # the data was loaded by another pipeline
            held.enter_context(pipeline_lock(target.pipelines_dir, target.pipeline_name))
        report = build_engagement_models(pipeline, target.duckdb_path)
        print(f"Engagement tables: {models_line(report)}")
        if not getattr(args, "test", False):
            return int(ExitCode.OK)
        tests = test_engagement_models(pipeline, target.duckdb_path)
    for warning in tests.warnings:
        print(f"warning: {warning.message()}", file=sys.stderr)
    for failure in tests.failures:
        print(failure.message(), file=sys.stderr)
    failed, warned = len(tests.failures), len(tests.warnings)
    print(f"Data tests: {tests.tests_run - failed - warned} passed, {warned} warned, {failed} failed")
    return int(ExitCode.OK if tests.passed else ExitCode.DATA_TEST)


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
        except NothingLoaded:  # one account not loaded yet is not a failure of the others' status
            loaded_by = f"woodpecker-etl load --accounts {account.name}"
            print(f"  no run recorded: nothing loaded for this account yet ({loaded_by})")
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
    """The status of one pipeline: last run, cursors and row counts (an account's rows only, if set).

    Cursors come from the state stored in the destination itself, so they are always this
    destination's; the last run's outcome from the local trace when the local working dir is this
    destination's, else the newest load recorded in the destination.

    Raises:
        CliError: exit code 2 when the destination holds no loaded Woodpecker data.
    """
    options, pipeline, state = loaded_target(options)
    last = None
    trace = pipeline.last_trace if local_state_is_ours(options) else None
    if trace is not None:
        outcome = "failed" if any(step.step_exception for step in trace.steps) else "succeeded"
        if outcome == "succeeded" and pipeline.state.get("sources", {}).get("woodpecker", {}).get(
            "incomplete"
        ):
            outcome = "incomplete"
        last = f"{trace.started_at} ({outcome})"
    else:
        last = _last_load(pipeline)
    totals = row_counts(pipeline, defaults.SOURCE_TABLES, options.account_id)
    return status_text(options, state, totals, last, marts_line(read_marts_state(pipeline)))


def _last_load(pipeline: Any) -> str | None:
    """The newest completed load recorded in the destination (`_dlt_loads`), in words."""
    try:
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name("_dlt_loads")
            rows = client.execute_sql(f"SELECT MAX(inserted_at) FROM {name} WHERE status = 0")
    except Exception:
        return None
    return f"{rows[0][0]} (loaded; as recorded in the destination)" if rows and rows[0][0] else None


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
