"""Pure normalisation helpers against the documented payloads (seed 002 prospect, seed 004 campaign)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from sources.woodpecker.helpers import chunk_ids, join_ids, row_hash
from sources.woodpecker.normalise import (
    flatten_steps,
    format_diff_timestamp,
    normalise_interest,
    normalise_stats,
    parse_timestamp,
)

FETCHED = datetime(2025, 4, 15, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-29T23:30:00+0100", datetime(2025, 3, 29, 22, 30, tzinfo=UTC)),  # CET, before the DST change
        ("2025-03-30T03:30:00+0200", datetime(2025, 3, 30, 1, 30, tzinfo=UTC)),  # CEST, after it
        ("2025-03-30T03:30:00+02:00", datetime(2025, 3, 30, 1, 30, tzinfo=UTC)),
        ("2024-11-09T14:29:06", datetime(2024, 11, 9, 14, 29, 6, tzinfo=UTC)),  # v2 `delivered`, no offset
        ("", None),
        (None, None),
    ],
)
def test_parse_timestamp(text: str | None, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_parsed_times_order_correctly_where_strings_do_not() -> None:
    earlier, later = "2025-03-21T09:00:00+0100", "2025-03-21T08:30:00+0000"
    assert earlier > later  # as text the order is wrong
    assert parse_timestamp(earlier) < parse_timestamp(later)  # type: ignore[operator]


def test_diff_timestamp_format() -> None:
    stamp = format_diff_timestamp(datetime(2025, 1, 15, 0, 0, tzinfo=UTC))
    assert stamp == "2025-01-15T00:00:00+0000"
    assert "%2B0000" in urlencode({"diff": f"updated>{stamp}"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("MAYBE-LATER", "MAYBE_LATER"), ("NOT_INTERESTED", "NOT_INTERESTED"), ("", None), (None, None)],
)
def test_interest_spelling(value: str | None, expected: str | None) -> None:
    assert normalise_interest(value) == expected


def test_stats_rename_check_and_drop_emails() -> None:
    row = normalise_stats(7, {"sent": 3, "check": 2, "emails": [{"subject": "x"}]}, FETCHED, FETCHED)
    assert row == {"campaign_id": 7, "captured_at": FETCHED, "sent": 3, "to_check": 2, "_fetched_at": FETCHED}


# The sample response of seed 004 (POST/GET /rest/v2/campaigns), reduced to what the flattening reads.
CAMPAIGN_V2: dict[str, Any] = {
    "id": 777777,
    "steps": {
        "id": "286f0242-00d6-4572-a4be-e4414ac589ed",
        "type": "START",
        "followup": {
            "id": "4dbd7af6-682b-4348-9950-77098baa9522",
            "type": "EMAIL",
            "delivery_time": {
                "MONDAY": [{"from": "08:00", "to": "18:00"}],
                "TUESDAY": [{"from": "08:00", "to": "18:00"}],
                "SATURDAY": [{"from": "08:00", "to": "10:00"}, {"from": "16:00", "to": "18:00"}],
            },
            "body": {
                "versions": [
                    {
                        "id": "5a9a" + "0" * 60,
                        "version": "A",
                        "subject": "Example subject for A version",
                        "message": "<div>A</div>",
                        "signature": "NO_SIGNATURE",
                        "track_opens": True,
                    },
                    {
                        "id": "289e" + "1" * 60,
                        "version": "B",
                        "subject": "Example subject for B version",
                        "message": "<div>B</div>",
                        "signature": "NO_SIGNATURE",
                        "track_opens": True,
                    },
                ]
            },
            "followup_after": {"range": "DAY", "value": 3},
            "followup": {
                "id": "d38f2fc0-7bed-461e-a2bb-a3d4aa786bcc",
                "type": "EMAIL",
                "delivery_time": {"FRIDAY": [{"from": "08:00", "to": "18:00"}]},
                "body": {
                    "versions": [
                        {
                            "id": "289e" + "2" * 60,
                            "version": "A",
                            "subject": "",
                            "message": "<div>follow-up</div>",
                            "signature": "SENDER",
                            "track_opens": True,
                        }
                    ]
                },
            },
        },
    },
}


def test_steps_are_numbered_from_the_first_email() -> None:
    steps, versions = flatten_steps(777777, CAMPAIGN_V2, FETCHED)
    assert [(s["step_number"], s["step_id"]) for s in steps] == [
        (1, "4dbd7af6-682b-4348-9950-77098baa9522"),
        (2, "d38f2fc0-7bed-461e-a2bb-a3d4aa786bcc"),
    ]
    first, second = steps
    assert (first["followup_after_range"], first["followup_after_value"], first["wait_hours"]) == (
        "DAY",
        3,
        72,
    )
    assert first["sending_days"] == "MON,TUE,SAT" and first["version_count"] == 2
    assert second["followup_after_value"] is None and second["sending_days"] == "FRI"
    assert [(v["step_number"], v["version"]) for v in versions] == [(1, "A"), (1, "B"), (2, "A")]
    assert versions[2]["subject"] is None  # "" on a follow-up (same thread) → NULL
    assert all(v["campaign_id"] == 777777 for v in versions)


def test_campaign_ids_chunks_keep_urls_short() -> None:
    ids = list(range(1_000_000, 1_000_700))
    chunks = chunk_ids(ids)
    assert [i for chunk in chunks for i in chunk] == ids
    assert len(chunks) > 1
    for chunk in chunks:
        query = urlencode(
            {
                "campaigns_id": join_ids(chunk),
                "activity": "OPENED",
                "sort": "+last_opened",
                "diff": "last_opened>2025-04-15T09:00:00+0000",
                "page": 1000,
                "per_page": 1000,
            }
        )
        assert len("https://api.woodpecker.co/rest/v1/prospects?" + query) < 2000


def test_row_hash_ignores_key_order_and_sees_values() -> None:
    assert row_hash({"a": 1, "b": 2}) == row_hash({"b": 2, "a": 1})
    assert row_hash({"a": 1}) != row_hash({"a": 2})
