"""Typing of spooled events into `webhook_events` rows: what the payload lacks or cannot type is NULL."""

from __future__ import annotations

from datetime import UTC, datetime

from sources.webhook_spool import SpoolLine
from sources.woodpecker.webhook_events import event_row


def test_a_campaign_event_is_typed() -> None:
    event = {
        "method": "link_clicked",
        "prospect": {"id": 42, "email": "a@b.co", "campaign_id": 1234000, "step": "2"},
        "click_url": "https://example.com/pricing",
        "timestamp": "2025-03-30T03:30:00+0200",
        "firm_id": 456789,
    }
    row = event_row(SpoolLine("abc", "2025-03-30T01:30:05+00:00", event))
    assert row == {
        "event_id": "abc",
        "event": "link_clicked",
        "prospect_id": 42,
        "campaign_id": 1234000,
        "step": 2,
        "occurred_at": datetime(2025, 3, 30, 1, 30, tzinfo=UTC),
        "email": "a@b.co",
        "url": "https://example.com/pricing",
        "firm_id": 456789,
        "received_at": datetime(2025, 3, 30, 1, 30, 5, tzinfo=UTC),
        "payload": event,
    }


def test_fields_that_cannot_be_typed_are_null_and_kept_in_the_payload() -> None:
    event = {
        "method": "prospect_saved",
        "prospect": {"id": True, "campaign_id": "", "step": None, "email": ""},
        "timestamp": "yesterday",
    }
    row = event_row(SpoolLine("x", "", event))
    assert row["event"] == "prospect_saved"
    assert [row[c] for c in ("prospect_id", "campaign_id", "step", "occurred_at", "email", "firm_id")] == [
        None
    ] * 6
    assert row["payload"] == event
    assert event_row(SpoolLine("y", "", ["not", "an", "object"]))["event"] is None
