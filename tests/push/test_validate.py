"""Validation rules applied before anything is sent, and the push id that makes a push resumable."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines import defaults
from pipelines.exit_codes import CliError
from pipelines.push.options import PushOptions
from pipelines.push.run import push_id
from pipelines.push.target import api_send_after, check
from pipelines.push.validate import as_text, valid_email, validate
from sources.woodpecker import settings
from sources.woodpecker.prospect_writes import PushTarget


def _one(row: dict[str, Any], *, campaign: bool = False, force: bool = False) -> tuple[str, ...]:
    """Reasons a single row is refused (empty when it is valid)."""
    checked = validate(list(row), [row], campaign=campaign, force=force)
    return checked.invalid[0].reasons if checked.invalid else ()


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("jared@piedpiper.com", True),
        ("x+tag@sub.example.org", True),
        ("zoë@bücher.de", True),
        ("erlichbachman.com", False),
        ("a b@example.org", False),
        ("a@b", False),
        ("a..b@example.org", False),
        ("a@-example.org", False),
        ("a@exa_mple.org", False),
        ("a@example.c", False),
        (f"{'a' * 65}@example.org", False),
    ],
)
def test_email_format(email: str, ok: bool) -> None:
    assert valid_email(email) is ok


def test_statuses_depend_on_the_target_and_force() -> None:
    assert _one({"email": "a@example.org", "status": "replied"}) == ()
    assert _one({"email": "a@example.org", "status": "PAUSED"}) != ()
    assert _one({"email": "a@example.org", "status": "PAUSED"}, campaign=True) == ()
    assert "status 'REPLIED' is not one of ACTIVE, PAUSED" in _one(
        {"email": "a@example.org", "status": "REPLIED"}, campaign=True
    )
    assert _one({"email": "a@example.org", "status": "REPLIED"}, campaign=True, force=True) == ()


def test_interest_values_and_spellings() -> None:
    for value in ("INTERESTED", "maybe-later", "Not Interested", "NOT_MARKED"):
        assert _one({"email": "a@example.org", "interested": value}, campaign=True) == ()
    assert (
        "interested 'HOT' is not one of"
        in _one({"email": "a@example.org", "interested": "HOT"}, campaign=True)[0]
    )
    assert _one({"email": "a@example.org", "interested": "INTERESTED"}) == (
        "interested applies to campaign pushes only (use --campaign-id)",
    )


def test_fifteen_snippets_and_the_legacy_spelling() -> None:
    row = {"email": "a@example.org", **{f"snippet{n}": f"s{n}" for n in range(1, 16)}}
    checked = validate(list(row), [row], campaign=False, force=False)
    assert checked.invalid == [] and checked.valid[0].fields == row
    legacy = validate(
        ["email", "SNIPET4"], [{"email": "a@example.org", "SNIPET4": "old"}], campaign=False, force=False
    )
    assert legacy.valid[0].fields == {"email": "a@example.org", "snippet4": "old"}
    assert _one({**row, "snipet4": "old"}) == ("unknown column 'snipet4'",)
    assert _one({"email": "a@example.org", "snippet16": "x"}) == ("unknown column 'snippet16'",)


def test_empty_unknown_columns_and_dlt_columns_are_ignored() -> None:
    row = {"email": "a@example.org", "score": None, "_dlt_id": "abc", "first_name": ""}
    checked = validate(list(row), [row], campaign=False, force=False)
    assert checked.valid[0].fields == {"email": "a@example.org"}
    assert checked.unknown_columns == ["score"]


def test_missing_email_and_non_text_values() -> None:
    assert _one({"email": None, "first_name": "x"}) == ("email is missing",)
    assert _one({"email": "a@example.org", "tags": ["#a"]}) == ("column 'tags' holds a list, not text",)
    assert as_text(111222333.0) == "111222333" and as_text(float("nan")) is None and as_text(7) == "7"


def test_repeated_email_is_sent_once() -> None:
    rows = [{"email": "B@example.org"}, {"email": "a@example.org"}, {"email": "b@example.org"}]
    checked = validate(["email"], rows, campaign=False, force=False)
    assert [p.email for p in checked.valid] == ["a@example.org", "B@example.org"]
    assert [(r.row_number, r.reasons) for r in checked.invalid] == [
        (3, ("email repeated in the input (sent from row 1)",))
    ]


def test_push_id_ignores_row_order_but_not_content_or_target() -> None:
    rows = [{"email": "a@example.org", "first_name": "A"}, {"email": "b@example.org"}]
    first = validate(["email", "first_name"], rows, campaign=False, force=False)
    reordered = validate(["email", "first_name"], rows[::-1], campaign=False, force=False)
    changed = validate(
        ["email", "first_name"], [{**rows[0], "first_name": "Z"}, rows[1]], campaign=False, force=False
    )
    target = PushTarget()
    assert push_id(target, 100, first) == push_id(target, 100, reordered)
    assert push_id(target, 100, first) != push_id(target, 100, changed)
    assert push_id(target, 100, first) != push_id(PushTarget(update=True), 100, first)
    assert push_id(target, 100, first) != push_id(target, 1, first)


def test_option_checks() -> None:
    for bad in (
        PushOptions(),
        PushOptions(table="t", file="f.csv"),
        PushOptions(table="t", batch_size=20_001),
        PushOptions(table="t", batch_size=0),
        PushOptions(table="t", force=True),
        PushOptions(table="t", send_after="2025-05-01"),
    ):
        with pytest.raises(CliError):
            check(bad)
    check(PushOptions(table="t", campaign_id=5, force=True, send_after="2025-05-01", batch_size=20_000))


def test_send_after_is_written_as_documented() -> None:
    assert api_send_after("2025-05-01T09:00:00+02:00") == "2025-05-01T09:00:00%2B0200"
    assert api_send_after("2025-05-01") == "2025-05-01T00:00:00%2B0000"
    assert api_send_after("2025-05-01T09:00:00-05:00") == "2025-05-01T09:00:00-0500"
    with pytest.raises(CliError):
        api_send_after("next monday")


def test_the_default_batch_is_the_apis_limit() -> None:
    # `push --batch-size` defaults to a constant the command line holds without importing the source.
    assert defaults.PUSH_BATCH_SIZE == settings.MAX_PROSPECTS_PER_REQUEST
    assert PushOptions().batch_size == settings.MAX_PROSPECTS_PER_REQUEST
