"""Pages of API records → typed Arrow tables: the documented sample, odd values, and properties.

The property tests check the contract of `to_arrow` against an independent oracle (Python's own
parsers): it never raises on a page's content, every record with a usable key is loaded once (the last
occurrence wins), and every value either lands typed in its column or is kept, unchanged, in
`_unparsed` — nothing is lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources.woodpecker.columnar import arrow_spec, to_arrow
from sources.woodpecker.normalise import parse_timestamp
from sources.woodpecker_tables import CAMPAIGN_PROSPECTS, PROSPECTS

from .samples import PROSPECT

FETCHED = datetime(2025, 4, 15, 9, 0, 0, tzinfo=UTC)


PROSPECTS_SPEC = arrow_spec(PROSPECTS)
CAMPAIGN_PROSPECTS_SPEC = arrow_spec(CAMPAIGN_PROSPECTS)
PROSPECT_TEXT = tuple(c.name for c in PROSPECTS.columns if c.data_type == "text")


def rows_of(records: list[Any], spec: Any = PROSPECTS_SPEC) -> tuple[list[dict[str, Any]], Any]:
    converted = to_arrow(records, spec, FETCHED)
    rows = converted.table.to_pylist() if converted.table is not None else []
    return rows, converted


def test_documented_sample_is_typed() -> None:
    (row,), converted = rows_of([PROSPECT])
    assert converted.unparsed_values == 0 and converted.rejected == []
    assert not any(key.startswith("snipet") for key in row)
    assert "last replied" not in row
    assert row["last_replied"] == datetime(2025, 3, 21, 7, 11, 35, tzinfo=UTC)
    assert row["last_contacted"] == datetime(2025, 3, 20, 13, 32, 34, tzinfo=UTC)
    assert row["updated"] == row["last_replied"]
    assert row["snippet1"] is None and row["snippet15"] is None  # "" becomes NULL
    assert orjson.loads(row["snippet_labels"]) == PROSPECT["snippet_labels"]
    assert row["_fetched_at"] == FETCHED and row["_unparsed"] is None
    assert (row["id"], row["email"], row["status"], row["encrypted"]) == (
        1234567890,
        "erlich@bachmanity.com",
        "REPLIED",
        False,
    )


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
    (row,), converted = rows_of([raw], CAMPAIGN_PROSPECTS_SPEC)
    assert row == {
        "campaign_id": 10030,
        "prospect_id": 1234567890,
        "status": "TO-CHECK",
        "sent_mails": 2,
        "interested": "NOT_INTERESTED",
        "campaign_email": "bighead@bachmanity.com",
        "campaign_name": "Bachmanity outreach",
        "_unparsed": None,
        "_fetched_at": FETCHED,
    }
    assert converted.unparsed_values == 0  # the prospect's own fields belong to `prospects`


def test_values_that_do_not_fit_are_kept_raw() -> None:
    odd = {
        **PROSPECT,
        "updated": "yesterday",
        "organization_id": "n/a",
        "encrypted": "no",
        "phone": 48123456789,
        "brand_new": {"nested": [1, 2]},
    }
    (row,), converted = rows_of([odd])
    assert (row["updated"], row["organization_id"], row["encrypted"], row["phone"]) == (
        None,
        None,
        None,
        None,
    )
    assert orjson.loads(row["_unparsed"]) == {
        "updated": "yesterday",
        "organization_id": "n/a",
        "encrypted": "no",
        "phone": 48123456789,
        "brand_new": {"nested": [1, 2]},
    }
    assert converted.unparsed_values == 5
    assert row["last_replied"] is not None  # the other values of the row are still typed


def test_other_time_formats_are_read_and_ids_as_digit_strings() -> None:
    (row,), converted = rows_of(
        [{**PROSPECT, "id": "42", "updated": "2025-03-21 08:11:35", "last_contacted": "2025-03-20T14:32:34Z"}]
    )
    assert converted.unparsed_values == 0
    assert row["id"] == 42
    assert row["updated"] == datetime(2025, 3, 21, 8, 11, 35, tzinfo=UTC)  # no offset: taken as UTC
    assert row["last_contacted"] == datetime(2025, 3, 20, 14, 32, 34, tzinfo=UTC)


def test_records_without_a_usable_key_are_set_aside_whole() -> None:
    records = [{**PROSPECT, "id": None}, {**PROSPECT, "id": "abc"}, "not an object", {**PROSPECT, "id": 7}]
    rows, converted = rows_of(records)
    assert [r["id"] for r in rows] == [7]
    assert [r["reason"] for r in converted.rejected] == [
        "not a JSON object",
        "no usable primary key",
        "no usable primary key",
    ]
    assert orjson.loads(converted.rejected[1]["record"])["id"] is None
    assert {r["table_name"] for r in converted.rejected} == {"prospects"}


def test_duplicate_keys_in_one_page_keep_the_last() -> None:
    records = [
        {**PROSPECT, "id": 1, "title": "first"},
        {**PROSPECT, "id": 2},
        {**PROSPECT, "id": 1, "title": "last"},
    ]
    rows, _ = rows_of(records)
    assert sorted((r["id"], r["title"]) for r in rows) == [(1, "last"), (2, "CEO")]


def test_empty_page() -> None:
    rows, converted = rows_of([])
    assert rows == [] and converted.table is None and converted.rejected == []


# -- properties ---------------------------------------------------------------------------------------

ZONES = (
    "Europe/Warsaw",
    "America/New_York",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "America/St_Johns",
    "UTC",
)


@st.composite
def api_times(draw: st.DrawFn) -> str:
    """Timestamps as the API writes them, in zones with odd offsets and around daylight-saving changes."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    moment = draw(
        st.one_of(
            st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)),
            # the hours around the 2025 changes in Europe and North America
            st.sampled_from((datetime(2025, 3, 30), datetime(2025, 10, 26), datetime(2025, 3, 9))).flatmap(
                lambda day: st.integers(0, 4 * 3600).map(lambda s: day + timedelta(seconds=s))
            ),
        )
    )
    aware = moment.replace(tzinfo=zone, microsecond=0)
    style = draw(st.sampled_from(("%Y-%m-%dT%H:%M:%S%z", "colon", "Z")))
    if style == "Z":
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = aware.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:] if style == "colon" else text


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    # Integers around the 64-bit limits, and far beyond them (read and kept exactly; docs/data-quality.md).
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has no NaN or infinity
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
TEXT = st.one_of(st.just(""), st.text(max_size=40), st.text(min_size=2000, max_size=5000))
VALUES = {
    "id": st.one_of(st.integers(1, 30), st.integers(1, 30).map(str), JUNK),
    "organization_id": st.one_of(st.integers(0, 2**40), JUNK),
    "last_contacted": st.one_of(api_times(), st.just(""), JUNK),
    "last replied": st.one_of(api_times(), st.just(""), JUNK),
    "updated": st.one_of(api_times(), JUNK),
    "encrypted": st.one_of(st.booleans(), JUNK),
    "snippet_labels": st.one_of(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3), JUNK),
    **{name: st.one_of(TEXT, JUNK) for name in ("email", "first_name", "status", "snippet1", "tags")},
}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    record = dict(PROSPECT)
    for name in draw(st.sets(st.sampled_from(sorted(VALUES)), max_size=6)):
        record[name] = draw(VALUES[name])
    for name in draw(st.sets(st.sampled_from(sorted(PROSPECT)), max_size=2)):
        record.pop(name, None)  # missing fields
    if draw(st.booleans()):
        record[draw(st.sampled_from(("new_field", "zażółć", "x" * 300)))] = draw(JUNK)
    return record


def expected_value(kind: str, value: Any) -> tuple[bool, Any]:
    """The oracle: what a column of `kind` should hold for `value`, and whether it is typed."""
    if value is None or value == "":
        return True, None
    if kind == "text":
        return (True, value) if isinstance(value, str) else (False, None)
    if kind == "int":
        if isinstance(value, bool):
            return False, None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            try:
                value = int(value)
            except ValueError:  # "--5", "²": digits to `str.isdigit`, not to `int`
                return False, None
        ok = isinstance(value, int) and -(2**63) <= value < 2**63
        return (True, value) if ok else (False, None)
    if kind == "bool":
        return (True, value) if isinstance(value, bool) else (False, None)
    if kind == "timestamp":
        try:
            return True, parse_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return False, None
    raise AssertionError(kind)


KINDS = {
    **dict.fromkeys(PROSPECT_TEXT, "text"),
    "id": "int",
    "organization_id": "int",
    "last_contacted": "timestamp",
    "updated": "timestamp",
    "encrypted": "bool",
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), max_size=25))
def test_nothing_is_lost_and_every_key_is_loaded_once(page: list[dict[str, Any]]) -> None:
    rows, converted = rows_of(page)
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(rows), "one row per key"

    last: dict[int, dict[str, Any]] = {}
    rejected = 0
    for record in page:
        ok, key = expected_value("int", record.get("id"))
        if not ok or key is None:
            rejected += 1
        else:
            last[key] = record
    assert set(by_id) == set(last)
    assert len(converted.rejected) == rejected

    for key, record in last.items():
        row = by_id[key]
        kept = json.loads(row["_unparsed"]) if row["_unparsed"] else {}
        for name, kind in KINDS.items():
            ok, value = expected_value(kind, record.get(name))
            assert row[name] == value, name
            if not ok:
                assert kept[name] == record[name], name
        ok, replied = expected_value("timestamp", record.get("last replied"))
        assert row["last_replied"] == replied
        if not ok:
            assert "last replied" in kept
        for name in set(record) - set(PROSPECT) - set(VALUES):
            assert kept[name] == record[name]
        labels = record.get("snippet_labels")
        assert (json.loads(row["snippet_labels"]) if row["snippet_labels"] else None) == (
            None if labels in (None, "") else labels
        )


@pytest.mark.parametrize(
    "offset", [timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=9.5))]
)
def test_fast_path_agrees_with_python_on_odd_offsets(offset: timezone) -> None:
    moments = [datetime(2025, 3, 30, 0, 0, tzinfo=offset) + timedelta(minutes=17 * i) for i in range(300)]
    page = [
        {**PROSPECT, "id": i, "updated": m.strftime("%Y-%m-%dT%H:%M:%S%z")} for i, m in enumerate(moments)
    ]
    rows, converted = rows_of(page)
    assert converted.unparsed_values == 0
    assert [r["updated"] for r in sorted(rows, key=lambda r: r["id"])] == [m.astimezone(UTC) for m in moments]
