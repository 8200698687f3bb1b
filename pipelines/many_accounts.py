"""Load several accounts at once: one pipeline per account, a bounded pool of worker threads.

Accounts are independent rate-limit domains: each account's source keeps its one request in flight,
and up to `workers` accounts run side by side. Every account has its own dlt pipeline
(`<pipeline>_<account>`, own state and lock) and, by layout, either

- `dataset`: its own dataset `<dataset>_<account>` (raw tables and engagement tables), or
- `column`: the shared dataset `<dataset>`, rows tagged and keyed with `account_id`; the engagement
  tables are then built per account in `<dataset>_<account>` over views of that account's rows.

Either way the marts of all configured accounts are unioned, with `account_id`, into views in
`<dataset>_all`. A failing account does not stop the others; each outcome is reported.

`transform_accounts` rebuilds the same engagement tables and views from what is already loaded
(`woodpecker-etl transform --accounts`), without reading the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from sources.woodpecker.progress import RunStats
from sources.woodpecker.settings import SECRET_LOCATION_HINT
from transforms.build import BuildReport, build_models
from transforms.catalog import load_models
from transforms.connection import client_dialect
from transforms.information_schema import dataset_columns
from transforms.quoting import literal, quote

from . import defaults
from .account_column import ACCOUNT_ID
from .accounts import Account
from .dlt_pipeline import make_pipeline
from .error_messages import redact, translate_error
from .exit_codes import CliError, ExitCode
from .load_options import LoadOptions
from .load_run import LoadResult, build_engagement_models, incomplete_error, run_load
from .lock import pipeline_lock

LAYOUTS = ("dataset", "column")


@dataclass
class AccountOutcome:
    """What happened to one account.

    Attributes:
        account: The account's name.
        dataset: Where its engagement tables are (its own dataset in both layouts).
        result: The load's result when it succeeded (None for a `transform`).
        models: The engagement tables' build report, when they were built.
        error: The error (already redacted) when it failed.
        seconds: Wall time of this account's load or transform.
        stats: Request counters of this account.
    """

    account: str
    dataset: str
    result: LoadResult | None = None
    models: BuildReport | None = None
    error: CliError | None = None
    seconds: float = 0.0
    stats: RunStats = field(default_factory=RunStats)

    @property
    def ok(self) -> bool:
        """True when the load or transform (and its engagement tables) succeeded."""
        return self.error is None


@dataclass
class AccountsRun:
    """What `run_accounts` did."""

    layout: str
    workers: int
    seconds: float
    outcomes: list[AccountOutcome]
    union_dataset: str
    union_views: list[str] = field(default_factory=list)
    union_error: CliError | None = None

    @property
    def failed(self) -> list[AccountOutcome]:
        """The accounts that failed."""
        return [o for o in self.outcomes if not o.ok]

    def exit_code(self) -> ExitCode:
        """OK; the accounts' shared code when all failed alike; PARTIAL when only some failed."""
        failed = self.failed
        if not failed and self.union_error is None:
            return ExitCode.OK
        if not failed:
            return self.union_error.code if self.union_error else ExitCode.FAILURE
        if len(failed) < len(self.outcomes):
            return ExitCode.PARTIAL
        codes = {o.error.code for o in failed if o.error is not None}
        return codes.pop() if len(codes) == 1 else ExitCode.FAILURE


def default_workers(n_accounts: int) -> int:
    """Workers when `--workers` is not given: one per account, at most `defaults.DEFAULT_MAX_WORKERS`."""
    return max(1, min(defaults.DEFAULT_MAX_WORKERS, n_accounts))


def account_dataset(base: LoadOptions, name: str) -> str:
    """The dataset holding an account's engagement tables (and, in the `dataset` layout, its raw ones)."""
    return f"{base.dataset}_{name}"


def union_dataset(base: LoadOptions) -> str:
    """The dataset of the cross-account views."""
    return f"{base.dataset}{defaults.ALL_ACCOUNTS_SUFFIX}"


def check_layout(layout: str) -> None:
    """Refuse an unknown account layout.

    Raises:
        CliError: with the layouts to choose from.
    """
    if layout not in LAYOUTS:
        choices = " or ".join(LAYOUTS)
        raise CliError(f"Unknown account layout {layout!r}; choose {choices}.", ExitCode.CONFIGURATION)


def account_target(base: LoadOptions, name: str, layout: str) -> LoadOptions:
    """Where one account's pipeline and raw tables are: its pipeline name, dataset and `account_id`.

    No key is involved, so `transform` and `status` can use it for accounts whose key is not set here.
    """
    column = layout == "column"
    return replace(
        base,
        pipeline_name=f"{base.pipeline_name}_{name}",
        dataset=base.dataset if column else account_dataset(base, name),
        account_id=name if column else None,
    )


def account_options(base: LoadOptions, account: Account, layout: str) -> LoadOptions:
    """The load options of one account, derived from the command's options.

    Raises:
        CliError: the account has no key configured.
    """
    if not account.api_key:
        raise CliError(
            f"No key configured for account {account.name!r}: set ACCOUNTS__{account.name.upper()}__API_KEY "
            f"(or company_id with an agency_key) in the environment or under [accounts.{account.name}] in "
            ".dlt/secrets.toml.",
            ExitCode.CONFIGURATION,
        )
    return replace(
        account_target(base, account.name, layout),
        api_key=account.api_key,
        base_url=account.base_url or base.base_url,
        company_id=account.company_id,
        transform=base.transform and layout != "column",
        # A spool holds one account's events: only the account's own (never `sources.woodpecker.…`).
        source_options={**base.source_options, "webhook_spool": account.webhook_spool or ""},
    )


def _account_error(exc: BaseException, account: Account) -> CliError:
    """The account's error, named, pointing at the account's key, and without any key in it."""
    error = translate_error(exc, account.api_key)
    where = f"ACCOUNTS__{account.name.upper()}__API_KEY or [accounts.{account.name}] in .dlt/secrets.toml"
    message = redact(str(error).replace(SECRET_LOCATION_HINT, where), account.api_key)
    return CliError(message, error.code)


@contextmanager
def _recorded(outcome: AccountOutcome, account: Account) -> Iterator[None]:
    """Time the work on one account; an error goes into the outcome, named and redacted, not up."""
    started = time.monotonic()
    try:
        yield
    except Exception as exc:
        outcome.error = _account_error(exc, account)
    finally:
        outcome.seconds = time.monotonic() - started


def load_account(
    base: LoadOptions,
    account: Account,
    layout: str,
    load_gate: AbstractContextManager[Any] | None,
    say: Callable[[str], None],
) -> AccountOutcome:
    """Load one account; never raises (the error is in the outcome)."""
    outcome = AccountOutcome(account.name, account_dataset(base, account.name))
    with _recorded(outcome, account):
        options = account_options(base, account, layout)
        outcome.result = run_load(
            options, outcome.stats, on_step=lambda m: say(f"[{account.name}] {m}"), load_gate=load_gate
        )
        incomplete = incomplete_error(outcome.result)
        if incomplete is not None:
            raise incomplete
        if layout == "column" and base.transform:
            say(f"[{account.name}] Building engagement tables")
            with load_gate if load_gate is not None else nullcontext():
                outcome.result.models = build_account_models(base, account.name)
        outcome.models = outcome.result.models
    return outcome


def _has_loaded_rows(options: LoadOptions) -> bool:
    """Whether the destination holds any raw table of the account (in the `column` layout: any row of it)."""
    pipeline = make_pipeline(options)
    with pipeline.sql_client() as client:
        tables = dataset_columns(client.execute_sql, options.dataset, client_dialect(client))
        for table in defaults.SOURCE_TABLES:
            if table not in tables:
                continue
            if options.account_id is None:
                return True
            if ACCOUNT_ID in tables[table] and client.execute_sql(
                f"SELECT 1 FROM {quote(options.dataset)}.{quote(table)} "
                f"WHERE {ACCOUNT_ID} = {literal(options.account_id)} LIMIT 1"
            ):
                return True
    return False


def transform_account(
    base: LoadOptions,
    account: Account,
    layout: str,
    gate: AbstractContextManager[Any] | None,
    say: Callable[[str], None],
) -> AccountOutcome:
    """Rebuild one account's engagement tables from what is loaded, as its load would; never raises.

    The account's pipeline lock is held, like `woodpecker-etl transform` holds the pipeline's: a load
    or transform of the same account running meanwhile makes this one fail (`ExitCode.BUSY`).
    """
    outcome = AccountOutcome(account.name, account_dataset(base, account.name))
    with _recorded(outcome, account):
        options = account_target(base, account.name, layout)
        with pipeline_lock(options.pipelines_dir, options.pipeline_name):
            if not _has_loaded_rows(options):
                raise CliError(
                    f"Nothing of account {account.name!r} is loaded in {options.dataset} ({layout} layout); "
                    f"run `woodpecker-etl load --accounts {account.name}` first.",
                    ExitCode.CONFIGURATION,
                )
            say(f"[{account.name}] Building engagement tables")
            with gate if gate is not None else nullcontext():
                if layout == "column":
                    outcome.models = build_account_models(base, account.name)
                else:
                    outcome.models = build_engagement_models(make_pipeline(options), options.duckdb_path)
    return outcome


@contextmanager
def shared_database(base: LoadOptions) -> Iterator[None]:
    """Keep one connection to a DuckDB file open while the accounts load.

    DuckDB lets one process open a file once; further connections of the process share that open
    database. Threads that each open the file first would race (a "file handle conflict"); with one
    connection already open, every pipeline's connection joins it.
    """
    if base.destination != "duckdb":
        yield
        return
    keeper = replace(
        base, pipeline_name=f"{base.pipeline_name}{defaults.ALL_ACCOUNTS_SUFFIX}", dataset=union_dataset(base)
    )
    pipeline = make_pipeline(keeper)
    with pipeline.sql_client():
        yield


def needs_load_gate(base: LoadOptions, layout: str) -> bool:
    """Whether the accounts' destination writes must take turns (see docs/accounts.md)."""
    return layout == "column" or base.destination in defaults.ONE_WRITER_DESTINATIONS


def run_accounts(
    base: LoadOptions,
    accounts: Sequence[Account],
    layout: str = "dataset",
    workers: int | None = None,
    say: Callable[[str], None] | None = None,
    union_accounts: Sequence[str] | None = None,
    serialise_loads: bool | None = None,
) -> AccountsRun:
    """Load `accounts` with at most `workers` at a time, then refresh the cross-account views.

    Args:
        base: The command's options; each account derives its own (`account_options`).
        accounts: The accounts to load.
        layout: `dataset` or `column`.
        workers: Accounts loaded at the same time (default: `default_workers`).
        say: Called with progress lines, each prefixed with the account's name.
        union_accounts: Accounts the cross-account views cover (default: `accounts`); views include an
            account only once its engagement tables exist.
        serialise_loads: Make the accounts' destination writes take turns (extraction stays parallel);
            None: only where needed (`needs_load_gate`).

    Returns:
        Every account's outcome and the views built.
    """
    check_layout(layout)
    if layout == "column" and base.full_refresh:
        raise CliError(
            "--full-refresh is refused in the column layout: the tables are shared, and dropping them "
            "would drop every account's rows. Reload with the dataset layout, or drop the shared dataset "
            "and load all accounts again.",
            ExitCode.CONFIGURATION,
        )
    serialise = needs_load_gate(base, layout) if serialise_loads is None else serialise_loads
    return _each_account(
        load_account, base, accounts, layout, workers, say, union_accounts, serialise, base.transform
    )


def transform_accounts(
    base: LoadOptions,
    accounts: Sequence[Account],
    layout: str = "dataset",
    workers: int | None = None,
    say: Callable[[str], None] | None = None,
    union_accounts: Sequence[str] | None = None,
) -> AccountsRun:
    """Rebuild the engagement tables of `accounts` from what is loaded, then refresh the cross-account views.

    The same tables as `run_accounts` builds after loading (`transform_account`); no key is needed.

    Args:
        base: The command's options; each account's pipeline and dataset derive from them.
        accounts: The accounts to rebuild.
        layout: `dataset` or `column`, as they were loaded.
        workers: Accounts rebuilt at the same time (default: `default_workers`).
        say: Called with progress lines, each prefixed with the account's name.
        union_accounts: Accounts the cross-account views cover (default: `accounts`).

    Returns:
        Every account's outcome and the views built.
    """
    check_layout(layout)
    gate = needs_load_gate(base, layout)
    return _each_account(transform_account, base, accounts, layout, workers, say, union_accounts, gate, True)


def _each_account(
    work: Callable[
        [LoadOptions, Account, str, AbstractContextManager[Any] | None, Callable[[str], None]], AccountOutcome
    ],
    base: LoadOptions,
    accounts: Sequence[Account],
    layout: str,
    workers: int | None,
    say: Callable[[str], None] | None,
    union_accounts: Sequence[str] | None,
    serialise: bool,
    union: bool,
) -> AccountsRun:
    """Run `work` for every account on a pool of `workers` threads, then (if `union`) refresh the views."""
    count = workers if workers is not None else default_workers(len(accounts))
    if count < 1:
        raise CliError("--workers must be at least 1.", ExitCode.CONFIGURATION)
    speak = say or (lambda _m: None)
    gate = threading.Lock() if serialise else None
    started = time.monotonic()
    with (
        shared_database(base),
        ThreadPoolExecutor(max_workers=count, thread_name_prefix="woodpecker-account") as pool,
    ):
        futures = [pool.submit(work, base, a, layout, gate, speak) for a in accounts]
        outcomes = [future.result() for future in futures]
    run = AccountsRun(layout, count, 0.0, outcomes, union_dataset(base))
    if union:
        names = list(union_accounts) if union_accounts is not None else [a.name for a in accounts]
        try:
            run.union_views = build_union_views(base, names)
        except Exception as exc:
            run.union_error = translate_error(exc)
    run.seconds = time.monotonic() - started
    return run


def build_account_models(base: LoadOptions, name: str) -> BuildReport:
    """`column` layout: views of one account's rows in `<dataset>_<account>`, and its engagement tables.

    The views carry every shared raw table's columns except `account_id`, filtered to the account, so
    the SQL models read them exactly like an own dataset.
    """
    pipeline = make_pipeline(replace(base, pipeline_name=f"{base.pipeline_name}_{name}"))
    target = account_dataset(base, name)
    with pipeline.sql_client() as client:
        client.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(target)}")
        shared = dataset_columns(client.execute_sql, base.dataset, client_dialect(client))
        for table, columns in shared.items():
            if ACCOUNT_ID not in columns or table.startswith("_dlt"):
                continue
            select = ", ".join(quote(c) for c in columns if c != ACCOUNT_ID)
            client.execute_sql(
                f"CREATE OR REPLACE VIEW {quote(target)}.{quote(table)} AS SELECT {select} "
                f"FROM {quote(base.dataset)}.{quote(table)} WHERE {ACCOUNT_ID} = {literal(name)}"
            )
    return build_models(pipeline, dataset_name=target)


def build_union_views(base: LoadOptions, names: Sequence[str]) -> list[str]:
    """Views in `<dataset>_all`: each mart of every account in `names` that has it, with `account_id`.

    Returns:
        The views created or replaced.
    """
    marts = [m.name for m in load_models() if m.layer == "marts"]
    target = union_dataset(base)
    pipeline = make_pipeline(replace(base, pipeline_name=f"{base.pipeline_name}_all", dataset=target))
    created: list[str] = []
    with pipeline.sql_client() as client:
        present = {
            name: dataset_columns(client.execute_sql, account_dataset(base, name), client_dialect(client))
            for name in names
        }
        client.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(target)}")
        for mart in marts:
            having = [name for name, tables in present.items() if mart in tables]
            if not having:
                continue
            # One column list for every branch: UNION ALL matches columns by position.
            columns = ", ".join(quote(c) for c in present[having[0]][mart])
            parts = [
                f"SELECT {literal(name)} AS {ACCOUNT_ID}, {columns} "
                f"FROM {quote(account_dataset(base, name))}.{quote(mart)}"
                for name in having
            ]
            client.execute_sql(
                f"CREATE OR REPLACE VIEW {quote(target)}.{quote(mart)} AS " + " UNION ALL ".join(parts)
            )
            created.append(mart)
    return created
