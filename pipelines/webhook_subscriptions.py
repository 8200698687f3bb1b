"""The account's webhook subscriptions through the API: the client, the event names, the current list."""

from __future__ import annotations

import re

import dlt

from sources.woodpecker import settings
from sources.woodpecker.client import WoodpeckerClient
from sources.woodpecker.progress import RunStats

from .exit_codes import CliError, ExitCode

RESOURCE = "webhooks"
_HOOK_SECRET = re.compile(r"(/hooks/)[^/?#]+")


def redact_url(url: str) -> str:
    """The URL with the secret path segment after `/hooks/` hidden (for output and logs)."""
    return _HOOK_SECRET.sub(r"\1***", url)


def api_client(api_key: str | None, base_url: str | None, backoff_factor: float) -> WoodpeckerClient:
    """The source's HTTP client, configured like a load: flags, then environment, then `.dlt/`.

    Raises:
        CliError: no API key anywhere (exit code 2).
    """
    key = api_key or dlt.secrets.get("sources.woodpecker.api_key")
    if not key:
        raise CliError(
            f"No Woodpecker API key: pass --api-key or set {settings.SECRET_LOCATION_HINT}.",
            ExitCode.CONFIGURATION,
        )
    url = base_url or dlt.config.get("sources.woodpecker.base_url") or settings.DEFAULT_BASE_URL
    return WoodpeckerClient(str(key), url, RunStats(), backoff_factor=backoff_factor)


def event_names(events: str | None, all_events: bool) -> list[str]:
    """The events of `--events a,b` (or every known event with `--all`).

    Raises:
        CliError: no event named, or an unknown one (exit code 2).
    """
    if all_events:
        return list(settings.WEBHOOK_EVENT_NAMES)
    if not events:
        raise CliError("Name the events with --events a,b or use --all.", ExitCode.CONFIGURATION)
    names = [e.strip() for e in events.split(",") if e.strip()]
    unknown = [e for e in names if e not in settings.WEBHOOK_EVENT_NAMES]
    if unknown:
        raise CliError(
            f"Unknown webhook event(s) {', '.join(unknown)}. "
            f"Known: {', '.join(settings.WEBHOOK_EVENT_NAMES)}.",
            ExitCode.CONFIGURATION,
        )
    return names


def subscriptions(client: WoodpeckerClient) -> list[dict[str, str]]:
    """The account's subscriptions as `{"target_url", "event"}` dicts (`GET /rest/v2/webhooks`)."""
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
