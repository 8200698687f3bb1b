"""`woodpecker-etl status`: last run, cursors and row counts (of each of the `--accounts`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..exit_codes import CliError, ExitCode
from . import arguments
from .command import Command

NAME = "status"


def add_arguments(status: argparse.ArgumentParser) -> None:
    """The arguments of `status`."""
    arguments.add_accounts_args(status, "show", workers=False)
    arguments.add_destination_args(status)


@dataclass(frozen=True)
class StatusArgs:
    """The options of `status`.

    Attributes:
        destination: Where the loaded data is.
        accounts: `--accounts` and `--account-layout`.
    """

    destination: arguments.DestinationArgs
    accounts: arguments.AccountsArgs

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StatusArgs:
        """Read from parsed arguments."""
        return cls(
            arguments.DestinationArgs.from_args(args), arguments.AccountsArgs.from_args(args, workers=False)
        )


def run(options: StatusArgs) -> int:
    """`woodpecker-etl status`; with `--accounts`, the status of each selected account, one block each."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from ..destination_state import NothingLoaded
    from ..error_messages import translate_error
    from ..lock import configured_lock_timeout
    from ..many_accounts import account_target
    from ..pipeline_status import status_block
    from ..selected_accounts import select_command_accounts

    where = options.destination
    if not options.accounts.accounts:
        print(status_block(where.load_options(configured_lock_timeout(None))))
        return int(ExitCode.OK)
    selection = select_command_accounts(
        options.accounts.accounts, options.accounts.layout, None, where.destination
    )
    base = where.load_options(configured_lock_timeout(None))
    errors: list[CliError] = []
    for n, account in enumerate(selection.accounts):
        if n:
            print()
        print(f"Account {account.name}")
        try:
            print(status_block(account_target(base, account.name, selection.layout)))
        except NothingLoaded:  # one account not loaded yet is not a failure of the others' status
            loaded_by = f"woodpecker-etl load --accounts {account.name}"
            print(f"  no run recorded: nothing loaded for this account yet ({loaded_by})")
        except Exception as exc:
            error = translate_error(exc, account.api_key)
            errors.append(error)
            print(f"  error: {error}")
    if not errors:
        return int(ExitCode.OK)
    if len(errors) < len(selection.accounts):
        return int(ExitCode.PARTIAL)
    codes = {error.code for error in errors}
    return int(codes.pop() if len(codes) == 1 else ExitCode.FAILURE)


HELP = "last run, cursors and row counts"
COMMAND = Command(NAME, HELP, add_arguments, StatusArgs.from_args, run)
