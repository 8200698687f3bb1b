"""The arguments several commands share: the parser, its help layout, value checks and option groups.

Each option group (destination, API, accounts) is added to a command's parser by one function and read
back by one frozen dataclass, so a command's options are typed. This module imports nothing heavy (no
dlt, DuckDB, pandas, pyarrow or sqlglot), so `--help`, `--version` and argument mistakes answer at once.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias

from .. import defaults
from ..exit_codes import ExitCode
from ..load_options import LoadOptions


class HelpFormatter(argparse.HelpFormatter):
    """Appends `(default: …)` to every option whose default means something and is not said already."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            text
            and "default" not in text
            and action.option_strings
            and default not in (None, False, argparse.SUPPRESS)
            and not isinstance(action, argparse._HelpAction | argparse._VersionAction)
        ):
            text += " (default: %(default)s)"
        elif text and action.required and action.option_strings:
            text += " (required)"
        return text


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line on stderr and exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print `<prog>: error: <message> (see <prog> --help)` and exit with the configuration code."""
        self.exit(int(ExitCode.CONFIGURATION), f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# The `add_subparsers()` object a command adds its parser to.
Subcommands: TypeAlias = "argparse._SubParsersAction[Any]"


def positive_int(text: str) -> int:
    """An integer of at least 1 (argparse type)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_lock_timeout_arg(parser: argparse.ArgumentParser) -> None:
    """`--lock-timeout` of the commands that write to the DuckDB file."""
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wait this long for other processes to close the DuckDB file "
        f"(default: [woodpecker_etl] lock_timeout, else {defaults.LOCK_TIMEOUT_S:g})",
    )


def positive_seconds(text: str) -> float:
    """A number of seconds above 0 and at most an hour (argparse type)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 3600")
    return seconds


def non_negative_int(text: str) -> int:
    """An integer of at least 0 (argparse type)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def port_number(text: str) -> int:
    """A TCP port, 0 (any free port) to 65535 (argparse type)."""
    value = _int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, not {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None


def name_list(text: str) -> str:
    """A comma-separated list with at least one name (argparse type; the text is kept as given)."""
    if not [part for part in text.split(",") if part.strip()]:
        raise argparse.ArgumentTypeError("needs at least one name (comma-separated); leave it out for all")
    return text


def add_common_args(parser: argparse.ArgumentParser, top: bool) -> None:
    """`-v` and `--traceback`, accepted before and after the sub-command (`woodpecker-etl load -v`)."""
    suffix = "" if top else "_sub"
    parser.add_argument(
        "-v",
        "--verbose",
        dest=f"verbose{suffix}",
        action="count",
        default=0,
        help="more logging: -v info, -vv debug (default: warnings only)",
    )
    parser.add_argument(
        "--traceback",
        dest=f"traceback{suffix}",
        action="store_true",
        help="show the full Python traceback of an error (default: one line)",
    )


def add_command(commands: Subcommands, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """The parser of one sub-command, with `-v` and `--traceback`."""
    parser = commands.add_parser(name, **kwargs)
    add_common_args(parser, top=False)
    return parser


def add_destination_args(parser: argparse.ArgumentParser) -> None:
    """`--destination`, `--duckdb-path`, `--dataset`, `--pipelines-dir` (and the hidden `--pipeline-name`)."""
    parser.add_argument(
        "--destination",
        default=defaults.DESTINATION,
        help="any dlt destination name (duckdb, postgres, bigquery, snowflake, motherduck, filesystem, …); "
        "credentials come from .dlt/secrets.toml or the environment",
    )
    parser.add_argument(
        "--duckdb-path",
        default=defaults.DUCKDB_PATH,
        help="DuckDB file of the duckdb destination, and where a filesystem (Parquet) destination's "
        "engagement tables are built",
    )
    parser.add_argument(
        "--dataset",
        default=defaults.DATASET_NAME,
        help="dataset / schema name (DuckDB and most warehouses store it lower-case, with _ for other "
        "characters)",
    )
    parser.add_argument("--pipeline-name", default=defaults.PIPELINE_NAME, help=argparse.SUPPRESS)
    parser.add_argument(
        "--pipelines-dir",
        default=None,
        metavar="DIR",
        help="where dlt keeps pipeline state locally (default: dlt's ~/.dlt/pipelines)",
    )


def add_listen_args(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """`--host` and `--port` of the commands that serve HTTP (their defaults: `host`, `port`)."""
    parser.add_argument("--host", default=host, help="interface to listen on")
    parser.add_argument("--port", type=port_number, default=port, help="port to listen on (0: any free one)")


def add_api_args(parser: argparse.ArgumentParser) -> None:
    """`--base-url` and `--api-key` of the commands that call the API."""
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="API scheme and host (default: SOURCES__WOODPECKER__BASE_URL, else https://api.woodpecker.co)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="API key (default: SOURCES__WOODPECKER__API_KEY or [sources.woodpecker] api_key in "
        ".dlt/secrets.toml; prefer those, a flag shows in the process list)",
    )


def add_accounts_args(parser: argparse.ArgumentParser, verb: str, workers: bool) -> None:
    """`--accounts` and `--account-layout` (and `--workers`) of the commands that run several accounts."""
    parser.add_argument(
        "--accounts",
        default=None,
        metavar="all|NAME,…",
        type=name_list,
        help=f"{verb} these accounts of the [accounts.<name>] configuration (docs/accounts.md; "
        "default: the one account of SOURCES__WOODPECKER__*)",
    )
    if workers:
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=None,
            metavar="N",
            help="accounts run at the same time (default: min(4, accounts))",
        )
    parser.add_argument(
        "--account-layout",
        choices=("dataset", "column"),
        default=defaults.ACCOUNT_LAYOUT,
        help="dataset: one dataset per account; column: shared tables with account_id",
    )


@dataclass(frozen=True)
class DestinationArgs:
    """The options of `add_destination_args`: where the loaded data is."""

    destination: str
    duckdb_path: str
    dataset: str
    pipeline_name: str
    pipelines_dir: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DestinationArgs:
        """Read from parsed arguments."""
        return cls(args.destination, args.duckdb_path, args.dataset, args.pipeline_name, args.pipelines_dir)

    def load_options(self, lock_timeout: float, api: ApiArgs | None = None) -> LoadOptions:
        """The `LoadOptions` naming this destination (and the API of `api`)."""
        return LoadOptions(
            api_key=api.api_key if api is not None else None,
            base_url=api.base_url if api is not None else None,
            destination=self.destination,
            duckdb_path=self.duckdb_path,
            dataset=self.dataset,
            pipeline_name=self.pipeline_name,
            pipelines_dir=self.pipelines_dir,
            lock_timeout=lock_timeout,
        )


@dataclass(frozen=True)
class ApiArgs:
    """The options of `add_api_args`: which API, with which key (None: from the configuration)."""

    base_url: str | None
    api_key: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ApiArgs:
        """Read from parsed arguments."""
        return cls(args.base_url, args.api_key)


@dataclass(frozen=True)
class AccountsArgs:
    """The options of `add_accounts_args`: the accounts selected (None: the one account), how they run."""

    accounts: str | None
    layout: str
    workers: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, workers: bool) -> AccountsArgs:
        """Read from parsed arguments (`workers`: whether the command has `--workers`)."""
        return cls(args.accounts, args.account_layout, args.workers if workers else None)
