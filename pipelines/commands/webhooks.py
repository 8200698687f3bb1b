"""`woodpecker-etl webhooks subscribe|unsubscribe|list|serve`: subscribe to webhook events, receive them."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from .. import defaults
from ..exit_codes import CliError, ExitCode
from . import arguments
from .command import Command

if TYPE_CHECKING:
    from ..webhook_receiver import Address

NAME = "webhooks"
TOKEN_ENV = defaults.WEBHOOK_TOKEN_ENV


def add_arguments(webhooks: argparse.ArgumentParser) -> None:
    """The arguments of `webhooks`."""
    actions = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")

    def api_args(parser: argparse.ArgumentParser) -> None:
        arguments.add_api_args(parser)
        parser.add_argument("--backoff-factor", type=float, default=1.0, help=argparse.SUPPRESS)

    for name, text in (("subscribe", "subscribe a URL to events"), ("unsubscribe", "remove subscriptions")):
        parser = arguments.add_command(actions, name, help=text)
        parser.add_argument("--url", required=True, help="target URL, e.g. https://hooks.example.com/hooks/T")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--events", default=None, help="comma-separated event names (required, or --all)")
        which.add_argument("--all", action="store_true", help="every known event")
        api_args(parser)

    listing = arguments.add_command(actions, "list", help="show the account's subscriptions")
    listing.add_argument("--show-urls", action="store_true", help="show the URLs' secret tokens")
    api_args(listing)

    receiver = arguments.add_command(
        actions,
        "serve",
        help="receive webhooks into a durable spool",
        description="Accept Woodpecker's webhook POSTs on /hooks/<token> and append them to a spool "
        "directory that `load --webhook-spool` reads (docs/webhooks.md). Run it behind a TLS-terminating "
        "proxy.",
    )
    arguments.add_listen_args(receiver, defaults.WEBHOOK_HOST, defaults.WEBHOOK_PORT)
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
        type=arguments.positive_int,
        default=defaults.WEBHOOK_MAX_BODY_BYTES,
        metavar="N",
        help="largest request body accepted (413 above)",
    )
    receiver.add_argument(
        "--header-timeout",
        type=arguments.positive_seconds,
        default=defaults.WEBHOOK_HEADER_TIMEOUT_S,
        metavar="S",
        help="seconds a connection has for its request line and headers",
    )
    receiver.add_argument(
        "--body-timeout",
        type=arguments.positive_seconds,
        default=defaults.WEBHOOK_BODY_TIMEOUT_S,
        metavar="S",
        help="seconds a request has for its body once its headers are in",
    )


@dataclass(frozen=True)
class ApiActionArgs:
    """The options of every action that calls the API.

    Attributes:
        api: Which API, with which key.
        backoff_factor: The client's retry back-off (hidden option, for tests).
    """

    api: arguments.ApiArgs
    backoff_factor: float


@dataclass(frozen=True)
class SubscriptionArgs(ApiActionArgs):
    """The options of `webhooks subscribe` and `webhooks unsubscribe`.

    Attributes:
        action: `subscribe` or `unsubscribe`.
        url: The target URL.
        events: `--events a,b` (None with `--all`).
        all_events: `--all`: every known event.
    """

    action: Literal["subscribe", "unsubscribe"]
    url: str
    events: str | None
    all_events: bool


@dataclass(frozen=True)
class ListArgs(ApiActionArgs):
    """The options of `webhooks list`.

    Attributes:
        show_urls: Show the URLs' secret tokens.
    """

    show_urls: bool


@dataclass(frozen=True)
class ServeArgs:
    """The options of `webhooks serve`.

    Attributes:
        host: The interface to listen on.
        port: The port (0: any free one).
        spool: The spool directory (created).
        token: `--token` (None: from `$WOODPECKER_WEBHOOK_TOKEN`).
        max_body_bytes: The largest request body accepted.
        header_timeout: Seconds a connection has for its request line and headers.
        body_timeout: Seconds a request has for its body once its headers are in.
    """

    host: str
    port: int
    spool: str
    token: str | None
    max_body_bytes: int
    header_timeout: float
    body_timeout: float


WebhooksArgs: TypeAlias = SubscriptionArgs | ListArgs | ServeArgs


def options(args: argparse.Namespace) -> WebhooksArgs:
    """The options of the chosen action, read from parsed arguments."""
    action = args.webhooks_command
    if action in ("subscribe", "unsubscribe"):
        api = arguments.ApiArgs.from_args(args)
        return SubscriptionArgs(api, args.backoff_factor, action, args.url, args.events, args.all)
    if action == "list":
        return ListArgs(arguments.ApiArgs.from_args(args), args.backoff_factor, args.show_urls)
    return ServeArgs(
        args.host,
        args.port,
        args.spool,
        args.token,
        args.max_body_bytes,
        args.header_timeout,
        args.body_timeout,
    )


def run(options: WebhooksArgs) -> int:
    """Run the chosen `webhooks` action."""
    if isinstance(options, ServeArgs):  # `serve` runs without the source package and dlt
        return serve(options)
    if isinstance(options, ListArgs):
        return list_subscriptions(options)
    if options.action == "subscribe":
        return subscribe(options)
    return unsubscribe(options)


def subscribe(options: SubscriptionArgs) -> int:
    """Subscribe the URL to each event; an existing subscription is reported, not an error.

    A URL the receiver would refuse (no `/hooks/<token>` path, a scheme other than https, …) is a
    configuration error before anything is sent: Woodpecker would deliver to it in vain.

    A 409 answer means either that the pair exists or that the event already has the most
    subscriptions an account may hold (three); the subscription list tells which.
    """
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from sources.woodpecker import settings
    from sources.woodpecker.errors import ApiError

    from ..webhook_receiver import TARGET_URL_SHAPE, check_target_url
    from ..webhook_subscriptions import RESOURCE, api_client, event_names, redact_url, subscriptions

    url = options.url
    try:
        check_target_url(url)
    except ValueError as exc:
        raise CliError(
            f"The receiver would refuse this target URL: {exc}. The URL must look like {TARGET_URL_SHAPE}.",
            ExitCode.CONFIGURATION,
        ) from None
    client = api_client(options.api.api_key, options.api.base_url, options.backoff_factor)
    at_limit: list[str] = []
    for event in event_names(options.events, options.all_events):
        try:
            client.post(settings.WEBHOOK_SUBSCRIBE_PATH, {"target_url": url, "event": event}, RESOURCE)
            print(f"subscribed      {event:<34} {redact_url(url)}")
        except ApiError as exc:
            if exc.status != 409:
                raise
            current = subscriptions(client)
            if {"target_url": url, "event": event} in current:
                print(f"already subscribed {event:<31} {redact_url(url)}")
                continue
            others = [redact_url(s["target_url"]) for s in current if s["event"] == event]
            print(f"NOT subscribed  {event:<34} limit reached: {', '.join(others)}", file=sys.stderr)
            at_limit.append(event)
    if at_limit:
        raise CliError(
            f"Woodpecker allows at most {settings.WEBHOOK_MAX_URLS_PER_EVENT} subscriptions per "
            f"event; {', '.join(at_limit)} already has them. Unsubscribe one of its URLs first "
            "(woodpecker-etl webhooks list).",
            ExitCode.API,
        )
    return int(ExitCode.OK)


def unsubscribe(options: SubscriptionArgs) -> int:
    """Unsubscribe the URL from each event (Woodpecker answers 200 even when there was nothing)."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from sources.woodpecker import settings

    from ..webhook_subscriptions import RESOURCE, api_client, event_names, redact_url

    client = api_client(options.api.api_key, options.api.base_url, options.backoff_factor)
    for event in event_names(options.events, options.all_events):
        body = {"target_url": options.url, "event": event}
        client.post(settings.WEBHOOK_UNSUBSCRIBE_PATH, body, RESOURCE)
        print(f"unsubscribed    {event:<34} {redact_url(options.url)}")
    return int(ExitCode.OK)


def list_subscriptions(options: ListArgs) -> int:
    """Print the subscriptions, one `event  url` line each (secrets hidden unless --show-urls)."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from ..webhook_subscriptions import api_client, redact_url, subscriptions

    client = api_client(options.api.api_key, options.api.base_url, options.backoff_factor)
    rows = sorted(subscriptions(client), key=lambda s: (s["event"], s["target_url"]))
    if not rows:
        print("no webhook subscriptions")
    for row in rows:
        url = row["target_url"] if options.show_urls else redact_url(row["target_url"])
        print(f"{row['event']:<34} {url}")
    return int(ExitCode.OK)


def serve(options: ServeArgs) -> int:
    """Run the receiver until SIGTERM / Ctrl-C."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from sources.webhook_spool import SpoolLockedError

    from ..webhook_receiver import ListenError, check_token
    from ..webhook_receiver import serve as run_receiver

    token = options.token or os.environ.get(TOKEN_ENV)
    try:
        token = check_token(token)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.CONFIGURATION) from None

    def ready(address: Address) -> None:
        host = f"[{address.host}]" if ":" in address.host else address.host
        print(
            f"Receiving webhooks on http://{host}:{address.port}/hooks/*** (health: /healthz), "
            f"spool {options.spool}",
            flush=True,
        )

    spool = Path(options.spool)
    try:
        accepted = run_receiver(
            options.host,
            options.port,
            spool,
            token,
            options.max_body_bytes,
            on_ready=ready,
            header_timeout_s=options.header_timeout,
            body_timeout_s=options.body_timeout,
        )
    except SpoolLockedError as exc:
        raise CliError(str(exc), ExitCode.BUSY) from None
    except ListenError as exc:
        raise CliError(str(exc), ExitCode.CONFIGURATION) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        message = f"cannot write to the spool directory {spool}: {reason}"
        raise CliError(message, ExitCode.CONFIGURATION) from None
    print(f"Stopped; {accepted} events accepted.", flush=True)
    return int(ExitCode.OK)


def api_key(options: WebhooksArgs) -> str | None:
    """The key given with `--api-key` (None for `serve`)."""
    return options.api.api_key if isinstance(options, ApiActionArgs) else None


HELP = "subscribe to webhook events and receive them"
COMMAND = Command(NAME, HELP, add_arguments, options, run, api_key=api_key)
