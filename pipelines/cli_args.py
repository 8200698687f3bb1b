"""The arguments of `woodpecker-etl`: parser, help layout and value checks.

This module imports nothing heavy (no dlt, DuckDB, pandas, pyarrow or sqlglot), so `--help`, `--version`
and argument mistakes answer at once; the commands import what they need when they run.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from . import defaults
from .exit_codes import ExitCode


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


def positive_int(text: str) -> int:
    """An integer of at least 1 (argparse type)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_lock_timeout_arg(parser: argparse.ArgumentParser) -> None:
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


def _command(commands: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, **kwargs)
    add_common_args(parser, top=False)
    return parser


def _add_destination_args(parser: argparse.ArgumentParser) -> None:
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


def _add_api_args(parser: argparse.ArgumentParser) -> None:
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


def _add_accounts_args(parser: argparse.ArgumentParser, verb: str, workers: bool) -> None:
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


def _add_load_parser(commands: Any) -> None:
    load = _command(commands, "load", help="load the account (incremental by default)")
    load.add_argument("--full-refresh", action="store_true", help="drop loaded tables and state, reload")
    load.add_argument(
        "--reconcile", action="store_true", help="full scan now to detect records deleted in Woodpecker"
    )
    load.add_argument(
        "--resources",
        default=None,
        type=name_list,
        metavar="NAME,…",
        help="comma-separated resources to load (default: all)",
    )
    _add_api_args(load)
    load.add_argument("--no-transform", action="store_true", help="do not rebuild the engagement tables")
    load.add_argument(
        "--webhook-spool",
        default=None,
        metavar="DIR",
        help="also load the events the webhook receiver spooled in DIR (default: "
        "sources.woodpecker.webhook_spool, else none)",
    )
    _add_accounts_args(load, "load", workers=True)
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
    _add_destination_args(load)
    _add_lock_timeout_arg(load)


def _add_push_parser(commands: Any) -> None:
    push = _command(
        commands, "push", help="send prospects from a table, query or file to Woodpecker (see docs/push.md)"
    )
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
        "--batch-size", type=int, default=20_000, help="prospects per request, 1 to 20000 (the API's limit)"
    )
    push.add_argument(
        "--file-name",
        default=None,
        help="import name shown in Woodpecker (default: woodpecker-etl push <id>)",
    )
    _add_api_args(push)
    _add_destination_args(push)


def _add_demo_parser(commands: Any) -> None:
    demo = _command(
        commands,
        "demo",
        help="serve the bundled simulator and load it into ./woodpecker_demo.duckdb",
        description="Start the bundled Woodpecker simulator on 127.0.0.1, generate an account from the seed, "
        "load it into a DuckDB file and show campaign_performance. Needs no API key and no network.",
    )
    demo.add_argument(
        "--prospects", type=non_negative_int, default=defaults.DEMO_PROSPECTS, help="prospects generated"
    )
    demo.add_argument(
        "--campaigns", type=non_negative_int, default=defaults.DEMO_CAMPAIGNS, help="campaigns generated"
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=defaults.DEMO_SEED,
        help="seed of the account; the same seed, the same data",
    )
    demo.add_argument(
        "--duckdb-path", default=defaults.DEMO_DUCKDB_PATH, help="DuckDB file the demo writes (created)"
    )


def _add_dashboard_parser(commands: Any) -> None:
    dashboard = _command(
        commands,
        "dashboard",
        help="serve the engagement dashboard or --export it",
        description="Serve the engagement dashboard over the loaded marts on http://HOST:PORT (read-only), "
        "or write it as one self-contained HTML file with --export (docs/dashboard.md).",
    )
    dashboard.add_argument(
        "--export", default=None, metavar="PATH.html", help="write one offline HTML file instead of serving"
    )
    dashboard.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    dashboard.add_argument(
        "--port",
        type=port_number,
        default=defaults.DASHBOARD_PORT,
        help="port to listen on (0: any free one)",
    )
    _add_destination_args(dashboard)


def _add_webhooks_parser(commands: Any) -> None:
    webhooks = _command(commands, "webhooks", help="subscribe to webhook events and receive them")
    actions = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")

    def api_args(parser: argparse.ArgumentParser) -> None:
        _add_api_args(parser)
        parser.add_argument("--backoff-factor", type=float, default=1.0, help=argparse.SUPPRESS)

    for name, text in (("subscribe", "subscribe a URL to events"), ("unsubscribe", "remove subscriptions")):
        parser = _command(actions, name, help=text)
        parser.add_argument("--url", required=True, help="target URL, e.g. https://hooks.example.com/hooks/T")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--events", default=None, help="comma-separated event names (required, or --all)")
        which.add_argument("--all", action="store_true", help="every known event")
        api_args(parser)

    listing = _command(actions, "list", help="show the account's subscriptions")
    listing.add_argument("--show-urls", action="store_true", help="show the URLs' secret tokens")
    api_args(listing)

    receiver = _command(
        actions,
        "serve",
        help="receive webhooks into a durable spool",
        description="Accept Woodpecker's webhook POSTs on /hooks/<token> and append them to a spool "
        "directory that `load --webhook-spool` reads (docs/webhooks.md). Run it behind a TLS-terminating "
        "proxy.",
    )
    receiver.add_argument("--host", default=defaults.WEBHOOK_HOST, help="interface to listen on")
    receiver.add_argument(
        "--port", type=port_number, default=defaults.WEBHOOK_PORT, help="port to listen on (0: any free one)"
    )
    receiver.add_argument(
        "--spool", required=True, metavar="DIR", help="spool directory (JSON-lines segments; created)"
    )
    receiver.add_argument(
        "--token",
        default=None,
        help="secret path token, at least 16 characters "
        f"(default: ${defaults.WEBHOOK_TOKEN_ENV}; prefer it, a flag shows in the process list)",
    )
    receiver.add_argument(
        "--max-body-bytes",
        type=positive_int,
        default=defaults.WEBHOOK_MAX_BODY_BYTES,
        metavar="N",
        help="largest request body accepted (413 above)",
    )
    receiver.add_argument(
        "--header-timeout",
        type=positive_seconds,
        default=defaults.WEBHOOK_HEADER_TIMEOUT_S,
        metavar="S",
        help="seconds a connection has for its request line and headers",
    )
    receiver.add_argument(
        "--body-timeout",
        type=positive_seconds,
        default=defaults.WEBHOOK_BODY_TIMEOUT_S,
        metavar="S",
        help="seconds a request has for its body once its headers are in",
    )


def build_parser(version: str = "") -> argparse.ArgumentParser:
    """The argument parser of `woodpecker-etl`."""
    parser = Parser(
        prog="woodpecker-etl",
        description="Load a Woodpecker.co account into DuckDB or any dlt destination.",
        epilog="Exit codes: 0 ok, 1 unexpected failure, 2 configuration, 3 authentication, 4 API or "
        "network, 5 destination, 6 busy, 7 some accounts failed, 8 incomplete, 9 model tests failed, "
        "130/143 interrupted (README.md).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version or 'unknown'}")
    add_common_args(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_load_parser(commands)
    transform = _command(commands, "transform", help="rebuild the engagement tables only")
    _add_accounts_args(transform, "rebuild the engagement tables of", workers=True)
    _add_destination_args(transform)
    _add_lock_timeout_arg(transform)
    transform.add_argument(
        "--test",
        action="store_true",
        help="after the build, run the models' schema.yml tests; exit 9 naming each failing test",
    )
    status = _command(commands, "status", help="last run, cursors and row counts")
    _add_accounts_args(status, "show", workers=False)
    _add_destination_args(status)
    _add_push_parser(commands)
    _add_dashboard_parser(commands)
    _add_demo_parser(commands)
    _add_webhooks_parser(commands)
    return parser
