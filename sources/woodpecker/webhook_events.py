"""`webhook_events`: the events a webhook receiver spooled, loaded incrementally and deduplicated.

The receiver (`woodpecker-etl webhooks serve`) appends each accepted event to the spool
(`webhook_spool.py`). This resource reads the spool from where the previous load stopped (segment and
byte offset in the resource state, committed with the load) and merges on `event_id`, the content hash
of the event: a redelivered event, or lines read twice after a failed load, land once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.sources import DltResource

from sources.webhook_spool import SpoolLine, SpoolPosition, read_spool
from sources.woodpecker_tables import WEBHOOK_EVENTS

from .normalise import parse_timestamp
from .schema import column_hints

# Resource state keys: the segment number and byte offset after the last line read (scalars, so that
# `woodpecker-etl status` shows them).
SEGMENT, OFFSET = "spool_segment", "spool_offset"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _time_or_none(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value) if isinstance(value, str | datetime) else None
    except ValueError:
        return None


def event_row(line: SpoolLine) -> dict[str, Any]:
    """One spooled event as a typed row; fields the payload lacks or cannot type are None.

    Campaign fields are `""` when an event is not tied to a campaign (reference section 8); they become
    None. The whole event stays in `payload`.
    """
    event: Mapping[str, Any] = line.event if isinstance(line.event, Mapping) else {}
    nested = event.get("prospect")
    prospect: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
    email = prospect.get("email")
    url = event.get("click_url")
    return {
        "event_id": line.id,
        "event": str(event.get("method")) if event.get("method") is not None else None,
        "prospect_id": _int_or_none(prospect.get("id")),
        "campaign_id": _int_or_none(prospect.get("campaign_id")),
        "step": _int_or_none(prospect.get("step")),
        "occurred_at": _time_or_none(event.get("timestamp")),
        "email": email if isinstance(email, str) and email else None,
        "url": url if isinstance(url, str) and url else None,
        "firm_id": _int_or_none(event.get("firm_id")),
        "received_at": _time_or_none(line.received_at),
        "payload": line.event,
    }


@dlt.resource(
    name=WEBHOOK_EVENTS.name,
    write_disposition="merge",
    primary_key=list(WEBHOOK_EVENTS.primary_key),
    columns=column_hints(WEBHOOK_EVENTS),
    max_table_nesting=0,
)
def webhook_events(spool_dir: str) -> Iterator[list[dict[str, Any]]]:
    """Events spooled by the webhook receiver since the last load, one row per distinct event.

    Args:
        spool_dir: The receiver's `--spool` directory.

    Yields:
        Batches of rows; the read position is saved after each batch.
    """
    state = dlt.current.resource_state()
    start = SpoolPosition(int(state.get(SEGMENT, 0)), int(state.get(OFFSET, 0)))
    seen: set[str] = set()
    for lines, position in read_spool(Path(spool_dir), start):
        rows = []
        for line in lines:
            if line.id not in seen:
                seen.add(line.id)
                rows.append(event_row(line))
        state[SEGMENT], state[OFFSET] = position.segment, position.offset
        if rows:
            yield rows


def webhook_events_resource(spool_dir: str | None) -> list[DltResource]:
    """The resource when a spool is configured, else nothing (the source then skips webhook events)."""
    if not spool_dir:
        return []
    return [webhook_events(spool_dir)]
