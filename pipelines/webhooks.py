"""`woodpecker-etl webhooks subscribe|unsubscribe|list|serve`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from sources.woodpecker import settings as source_settings
from sources.woodpecker.client import WoodpeckerClient
from sources.woodpecker.errors import ApiError
from sources.woodpecker.progress import RunStats

from .exit_codes import CliError, ExitCode

RESOURCE = "webhooks"
TOKEN_ENV = "WOODPECKER_WEBHOOK_TOKEN"
_HOOK_SECRET = re.compile(r"(/hooks/)[^/?#]+")


def redact_url(url: str) -> str:
    """The URL with the secret path segment after `/hooks/` hidden (for output and logs)."""
    return _HOOK_SECRET.sub(r"\1***", url)


def _client(args: argparse.Namespace) -> WoodpeckerClient:
    """The source's HTTP client, configured like a load: flags, then environment, then `.dlt/`."""
    import dlt

    api_key = args.api_key or dlt.secrets.get("sources.woodpecker.api_key")
    if not api_key:
        raise CliError(
            f"No Woodpecker API key: pass --api-key or set {source_settings.SECRET_LOCATION_HINT}.",
            ExitCode.CONFIGURATION,
        )
    base_url = (
        args.base_url or dlt.config.get("sources.woodpecker.base_url") or source_settings.DEFAULT_BASE_URL
    )
    return WoodpeckerClient(str(api_key), base_url, RunStats(), backoff_factor=args.backoff_factor)


def _events(args: argparse.Namespace) -> list[str]:
    if args.all:
        return list(source_settings.WEBHOOK_EVENT_NAMES)
    if not args.events:
        raise CliError("Name the events with --events a,b or use --all.", ExitCode.CONFIGURATION)
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    unknown = [e for e in events if e not in source_settings.WEBHOOK_EVENT_NAMES]
    if unknown:
        raise CliError(
            f"Unknown webhook event(s) {', '.join(unknown)}. "
            f"Known: {', '.join(source_settings.WEBHOOK_EVENT_NAMES)}.",
            ExitCode.CONFIGURATION,
        )
    return events


def subscriptions(client: WoodpeckerClient) -> list[dict[str, str]]:
    """The account's subscriptions as `{"target_url", "event"}` dicts (`GET /rest/v2/webhooks`)."""
    answer = client.get(source_settings.WEBHOOK_LIST_PATH, None, RESOURCE)
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

    A 409 answer means either that the pair exists or that the event already has the most
    subscriptions an account may hold (three); the subscription list tells which.
    """
    client = _client(args)
    url = args.url
    at_limit: list[str] = []
    for event in _events(args):
        try:
            client.post(source_settings.WEBHOOK_SUBSCRIBE_PATH, {"target_url": url, "event": event}, RESOURCE)
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
            f"Woodpecker allows at most {source_settings.WEBHOOK_MAX_URLS_PER_EVENT} subscriptions per "
            f"event; {', '.join(at_limit)} already has them. Unsubscribe one of its URLs first "
            "(woodpecker-etl webhooks list).",
            ExitCode.API,
        )
    return int(ExitCode.OK)


def unsubscribe(args: argparse.Namespace) -> int:
    """Unsubscribe the URL from each event (Woodpecker answers 200 even when there was nothing)."""
    client = _client(args)
    for event in _events(args):
        body = {"target_url": args.url, "event": event}
        client.post(source_settings.WEBHOOK_UNSUBSCRIBE_PATH, body, RESOURCE)
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
    from .webhook_receiver import check_token
    from .webhook_receiver import serve as run_receiver

    token = args.token or os.environ.get(TOKEN_ENV)
    try:
        token = check_token(token)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.CONFIGURATION) from None

    def ready(server: Any) -> None:
        host, port = server.server_address[:2]
        print(
            f"Receiving webhooks on http://{host}:{port}/hooks/*** (health: /healthz), spool {args.spool}",
            flush=True,
        )

    from sources.woodpecker.webhook_spool import SpoolLockedError

    try:
        accepted = run_receiver(
            args.host, args.port, Path(args.spool), token, args.max_body_bytes, on_ready=ready
        )
    except SpoolLockedError as exc:
        raise CliError(str(exc), ExitCode.BUSY) from None
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
