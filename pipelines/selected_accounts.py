"""`--accounts` of `load`, `transform`, `status`: the flags it excludes, its accounts, a step over them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .accounts import Account, configured_names, select_accounts
from .exit_codes import CliError, ExitCode
from .load_options import LoadOptions
from .many_accounts import AccountsRun, check_layout, default_workers
from .report import step

# `run_accounts` or `transform_accounts`: (base, accounts, layout, workers, say, union_accounts) → run.
AccountsStep = Callable[
    [LoadOptions, Sequence[Account], str, int, Callable[[str], None], Sequence[str]], AccountsRun
]


@dataclass(frozen=True)
class Selection:
    """The accounts a command runs over.

    Attributes:
        accounts: The selected accounts, in order.
        configured: Every configured account's name (what the cross-account views cover).
        layout: `dataset` or `column`.
        workers: `--workers` (None: `default_workers`).
    """

    accounts: list[Account]
    configured: list[str]
    layout: str
    workers: int | None


def select_command_accounts(
    selected: str,
    layout: str,
    workers: int | None,
    destination: str,
    api_key: str | None = None,
    webhook_spool: str | None = None,
) -> Selection:
    """Check the flags that go with `--accounts`; the configured account names and the selected accounts.

    Args:
        selected: The value of `--accounts` (`all` or names).
        layout: `--account-layout`.
        workers: `--workers` (None when not given, or for a command without it).
        destination: `--destination`.
        api_key: `--api-key`, which `--accounts` excludes.
        webhook_spool: `--webhook-spool`, which `--accounts` excludes.

    Raises:
        CliError: a flag that excludes `--accounts`, or an account that is not configured.
    """
    if api_key:
        raise CliError(
            "--api-key and --accounts exclude each other: with --accounts every key comes from the "
            "[accounts.<name>] configuration.",
            ExitCode.CONFIGURATION,
        )
    if webhook_spool:
        raise CliError(
            "--webhook-spool and --accounts exclude each other: a spool holds one account's events, so "
            "set each account's own as ACCOUNTS__<NAME>__WEBHOOK_SPOOL (or webhook_spool under "
            "[accounts.<name>]).",
            ExitCode.CONFIGURATION,
        )
    if destination == "filesystem":
        raise CliError(
            f"--accounts does not support --destination {destination} yet: load each account on its "
            "own with its key, --dataset and --pipeline-name (docs/accounts.md).",
            ExitCode.CONFIGURATION,
        )
    check_layout(layout)
    names = configured_names()
    return Selection(select_accounts(selected, names), names, layout, workers)


def over_accounts(selection: Selection, base: LoadOptions, doing: str, run: AccountsStep) -> AccountsRun:
    """Announce what happens to the selected accounts and run `run` over them.

    Args:
        selection: The accounts, their layout and workers.
        base: The command's options; each account derives its own.
        doing: The announcing line, with `{n}` (accounts) and `{destination}`.
        run: `run_accounts` or `transform_accounts`.
    """
    accounts = selection.accounts
    workers = selection.workers if selection.workers is not None else default_workers(len(accounts))
    print(
        f"{doing.format(n=len(accounts), destination=base.destination)} "
        f"({selection.layout} layout, {workers} at a time) …",
        file=sys.stderr,
        flush=True,
    )
    return run(base, accounts, selection.layout, workers, step, selection.configured)
