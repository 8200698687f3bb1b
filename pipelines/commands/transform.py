"""`woodpecker-etl transform`: rebuild the engagement tables from what is loaded (and `--test` them)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from dataclasses import dataclass

from .. import defaults
from ..exit_codes import CliError, ExitCode
from . import arguments
from .command import Command
from .written_files import check_written_files

NAME = "transform"


def add_arguments(transform: argparse.ArgumentParser) -> None:
    """The arguments of `transform`."""
    arguments.add_accounts_args(transform, "rebuild the engagement tables of", workers=True)
    arguments.add_destination_args(transform)
    arguments.add_lock_timeout_arg(transform)
    transform.add_argument(
        "--test",
        action="store_true",
        help="after the build, run the models' schema.yml tests; exit 9 naming each failing test",
    )


@dataclass(frozen=True)
class TransformArgs:
    """The options of `transform`.

    Attributes:
        destination: Where the loaded data is.
        accounts: `--accounts`, `--account-layout`, `--workers`.
        lock_timeout: `--lock-timeout` (None: the configured one, else the default).
        test: Run the models' schema.yml tests after the build.
    """

    destination: arguments.DestinationArgs
    accounts: arguments.AccountsArgs
    lock_timeout: float | None
    test: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TransformArgs:
        """Read from parsed arguments."""
        return cls(
            arguments.DestinationArgs.from_args(args),
            arguments.AccountsArgs.from_args(args, workers=True),
            args.lock_timeout,
            args.test,
        )


def run(options: TransformArgs) -> int:
    """`woodpecker-etl transform`: rebuild the engagement tables from what is loaded."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from ..destination_state import loaded_target
    from ..load_run import build_engagement_models, test_engagement_models
    from ..lock import configured_lock_timeout, pipeline_lock, wait_for_duckdb_file
    from ..many_accounts import transform_accounts
    from ..report import accounts_transform_summary, models_line, step
    from ..selected_accounts import over_accounts, select_command_accounts

    where = options.destination
    check_written_files(where.destination, where.duckdb_path, where.pipelines_dir)
    if options.accounts.accounts:
        if options.test:
            message = "transform --test runs on one pipeline; leave out --accounts"
            raise CliError(message, ExitCode.CONFIGURATION)
        selection = select_command_accounts(
            options.accounts.accounts, options.accounts.layout, options.accounts.workers, where.destination
        )
        base = where.load_options(configured_lock_timeout(options.lock_timeout))
        doing = "Rebuilding the engagement tables of {n} account(s) in {destination}"
        accounts_run = over_accounts(selection, base, doing, transform_accounts)
        print(accounts_transform_summary(base, accounts_run))
        return int(accounts_run.exit_code())
    load_options = where.load_options(configured_lock_timeout(options.lock_timeout))
    if load_options.destination in defaults.DUCKDB_FILE_DESTINATIONS:
        wait_for_duckdb_file(load_options.duckdb_path, load_options.lock_timeout, step)
    with ExitStack() as held:
        # A running load of this pipeline comes first: "busy", even when it has loaded nothing yet.
        held.enter_context(pipeline_lock(load_options.pipelines_dir, load_options.pipeline_name))
        target, pipeline, _ = loaded_target(load_options)
        if target.pipeline_name != load_options.pipeline_name:  # the data was loaded by another pipeline
            held.enter_context(pipeline_lock(target.pipelines_dir, target.pipeline_name))
        report = build_engagement_models(pipeline, target.duckdb_path)
        print(f"Engagement tables: {models_line(report)}")
        if not options.test:
            return int(ExitCode.OK)
        tests = test_engagement_models(pipeline, target.duckdb_path)
    for warning in tests.warnings:
        print(f"warning: {warning.message()}", file=sys.stderr)
    for failure in tests.failures:
        print(failure.message(), file=sys.stderr)
    failed, warned = len(tests.failures), len(tests.warnings)
    print(f"Data tests: {tests.tests_run - failed - warned} passed, {warned} warned, {failed} failed")
    return int(ExitCode.OK if tests.passed else ExitCode.DATA_TEST)


HELP = "rebuild the engagement tables only"
INTERRUPTED = "interrupted; the engagement tables are as before, the next `transform` rebuilds them"
COMMAND = Command(NAME, HELP, add_arguments, TransformArgs.from_args, run, interrupted=INTERRUPTED)
