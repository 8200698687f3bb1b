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
    normalise_membership,
    normalise_prospect,
    normalise_stats,
    parse_timestamp,
)

FETCHED = datetime(2025, 4, 15, 9, 0, 0, tzinfo=UTC)

# The 200 sample of seed 002 (GET /rest/v1/prospects).
PROSPECT: dict[str, Any] = {
    "id": 1234567890,
    "email": "erlich@bachmanity.com",
    "first_name": "Erlich",
    "last_name": "Bachman",
    "company": "Bachmanity",
    "organization_id": 654321789,
    "industry": "IT",
    "website": "https://bachmanity.com",
    "linkedin_url": "https://linkedin.com/erlich-bachman",
    "tags": "#VISIONARY",
    "title": "CEO",
    "phone": "+1 987-654-321",
    "address": "700 Welch Road",
    "city": "Palo Alto",
    "state": "California",
    "country": "United States",
    "last_contacted": "2025-03-20T14:32:34+0100",
    "last replied": "2025-03-21T08:11:35+0100",
    "updated": "2025-03-21T08:11:35+0100",
    "encrypted": False,
    "snipet1": "You are running a successful startup incubator Bachmanity",
    "snipet2": "",
    "snipet3": "",
    "snipet4": "",
    **{f"snippet{i}": "" for i in range(1, 16)},
    "snippet_labels": {"custom_snippet": "You are running a successful startup incubator Bachmanity"},
    "status": "REPLIED",
}


def test_prospect_sample_is_normalised() -> None:
    row = normalise_prospect(PROSPECT, FETCHED)
    assert not any(key.startswith("snipet") for key in row)
    assert "last replied" not in row
    assert row["last_replied"] == datetime(2025, 3, 21, 7, 11, 35, tzinfo=UTC)
    assert row["last_contacted"] == datetime(2025, 3, 20, 13, 32, 34, tzinfo=UTC)
    assert row["updated"] == row["last_replied"]
    assert row["snippet1"] is None and row["snippet15"] is None
    assert row["snippet_labels"] == PROSPECT["snippet_labels"]
    assert row["_fetched_at"] == FETCHED
    assert row["email"] == "erlich@bachmanity.com" and row["status"] == "REPLIED"


def test_never_contacted_and_unknown_fields() -> None:
    row = normalise_prospect(
        {**PROSPECT, "last_contacted": "", "last replied": "", "brand_new": "x"}, FETCHED
    )
    assert row["last_contacted"] is None and row["last_replied"] is None
    assert row["brand_new"] == "x"


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


def test_membership_keeps_only_membership_fields() -> None:
    raw = {
        **PROSPECT,
        "campaign_id": 10030,
        "campaign_name": "Bachmanity outreach",
        "campaign_email": "bighead@bachmanity.com",
        "sent_mails": 2,
        "status": "TO-CHECK",
        "interested": "NOT-INTERESTED",
    }
    row = normalise_membership(raw, FETCHED)
    assert row == {
        "campaign_id": 10030,
        "prospect_id": 1234567890,
        "status": "TO-CHECK",
        "sent_mails": 2,
        "interested": "NOT_INTERESTED",
        "campaign_email": "bighead@bachmanity.com",
        "campaign_name": "Bachmanity outreach",
        "_fetched_at": FETCHED,
    }


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
