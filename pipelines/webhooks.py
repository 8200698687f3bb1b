"""`woodpecker-etl webhooks subscribe|unsubscribe|list|serve`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import defaults
from .exit_codes import CliError, ExitCode

if TYPE_CHECKING:
    from sources.woodpecker.client import WoodpeckerClient

# The source package (and dlt) is imported by the commands that call the API only: `serve` starts in a
# fraction of a second and without their memory.

RESOURCE = "webhooks"
TOKEN_ENV = defaults.WEBHOOK_TOKEN_ENV
_HOOK_SECRET = re.compile(r"(/hooks/)[^/?#]+")


def redact_url(url: str) -> str:
    """The URL with the secret path segment after `/hooks/` hidden (for output and logs)."""
    return _HOOK_SECRET.sub(r"\1***", url)


def _client(args: argparse.Namespace) -> WoodpeckerClient:
    """The source's HTTP client, configured like a load: flags, then environment, then `.dlt/`."""
    import dlt

    from sources.woodpecker import settings
    from sources.woodpecker.client import WoodpeckerClient
    from sources.woodpecker.progress import RunStats

    api_key = args.api_key or dlt.secrets.get("sources.woodpecker.api_key")
    if not api_key:
        raise CliError(
            f"No Woodpecker API key: pass --api-key or set {settings.SECRET_LOCATION_HINT}.",
            ExitCode.CONFIGURATION,
        )
    base_url = args.base_url or dlt.config.get("sources.woodpecker.base_url") or settings.DEFAULT_BASE_URL
    return WoodpeckerClient(str(api_key), base_url, RunStats(), backoff_factor=args.backoff_factor)


def _events(args: argparse.Namespace) -> list[str]:
    from sources.woodpecker import settings

    if args.all:
        return list(settings.WEBHOOK_EVENT_NAMES)
    if not args.events:
        raise CliError("Name the events with --events a,b or use --all.", ExitCode.CONFIGURATION)
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    unknown = [e for e in events if e not in settings.WEBHOOK_EVENT_NAMES]
    if unknown:
        raise CliError(
            f"Unknown webhook event(s) {', '.join(unknown)}. "
            f"Known: {', '.join(settings.WEBHOOK_EVENT_NAMES)}.",
            ExitCode.CONFIGURATION,
        )
    return events


def subscriptions(client: WoodpeckerClient) -> list[dict[str, str]]:
    """The account's subscriptions as `{"target_url", "event"}` dicts (`GET /rest/v2/webhooks`)."""
    from sources.woodpecker import settings

    answer = client.get(settings.WEBHOOK_LIST_PATH, None, RESOURCE)
    body = answer.body
    rows = body.get("webhooks") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        return []
    return [
        {"target_url": str(r.get("target_url", "")), "event": str(r.get("event", ""))}
        for r in rows
        if isinstance(r, dict)
    ]


def subscribe(args: argparse.Namespace) -> int:
    """Subscribe the URL to each event; an existing subscription is reported, not an error.

    A URL the receiver would refuse (no `/hooks/<token>` path, a scheme other than https, …) is a
    configuration error before anything is sent: Woodpecker would deliver to it in vain.

    A 409 answer means either that the pair exists or that the event already has the most
    subscriptions an account may hold (three); the subscription list tells which.
    """
    from sources.woodpecker import settings
    from sources.woodpecker.errors import ApiError

    from .webhook_receiver import TARGET_URL_SHAPE, check_target_url

    url = args.url
    try:
        check_target_url(url)
    except ValueError as exc:
        raise CliError(
            f"The receiver would refuse this target URL: {exc}. The URL must look like {TARGET_URL_SHAPE}.",
            ExitCode.CONFIGURATION,
        ) from None
    client = _client(args)
    at_limit: list[str] = []
    for event in _events(args):
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


def unsubscribe(args: argparse.Namespace) -> int:
    """Unsubscribe the URL from each event (Woodpecker answers 200 even when there was nothing)."""
    from sources.woodpecker import settings

    client = _client(args)
    for event in _events(args):
        body = {"target_url": args.url, "event": event}
        client.post(settings.WEBHOOK_UNSUBSCRIBE_PATH, body, RESOURCE)
        print(f"unsubscribed    {event:<34} {redact_url(args.url)}")
    return int(ExitCode.OK)


def list_subscriptions(args: argparse.Namespace) -> int:
    """Print the subscriptions, one `event  url` line each (secrets hidden unless --show-urls)."""
    rows = sorted(subscriptions(_client(args)), key=lambda s: (s["event"], s["target_url"]))
    if not rows:
        print("no webhook subscriptions")
    for row in rows:
        url = row["target_url"] if args.show_urls else redact_url(row["target_url"])
        print(f"{row['event']:<34} {url}")
    return int(ExitCode.OK)


def serve(args: argparse.Namespace) -> int:
    """Run the receiver until SIGTERM / Ctrl-C."""
    from sources.webhook_spool import SpoolLockedError

    from .webhook_receiver import Address, ListenError, check_token
    from .webhook_receiver import serve as run_receiver

    token = args.token or os.environ.get(TOKEN_ENV)
    try:
        token = check_token(token)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.CONFIGURATION) from None

    def ready(address: Address) -> None:
        host = f"[{address.host}]" if ":" in address.host else address.host
        print(
            f"Receiving webhooks on http://{host}:{address.port}/hooks/*** (health: /healthz), "
            f"spool {args.spool}",
            flush=True,
        )

    spool = Path(args.spool)
    try:
        accepted = run_receiver(
            args.host,
            args.port,
            spool,
            token,
            args.max_body_bytes,
            on_ready=ready,
            header_timeout_s=args.header_timeout,
            body_timeout_s=args.body_timeout,
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


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen `webhooks` sub-command."""
    command = args.webhooks_command
    if command == "subscribe":
        return subscribe(args)
    if command == "unsubscribe":
        return unsubscribe(args)
    if command == "list":
        return list_subscriptions(args)
    return serve(args)
