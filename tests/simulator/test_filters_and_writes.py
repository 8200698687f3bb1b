"""The simulator's prospects filters, campaign enrolment timing, request limits and slow answers.

Each filter is checked over HTTP against the account's own records (`sim.account`), so a filter that
returned too much or too little would fail.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from simulator import Simulator
from simulator.clock import TimeFormat

from .test_api_contract import get, v1_error


def all_rows(sim: Simulator, **params: Any) -> list[dict[str, Any]]:
    """Every row of a prospects query, page by page."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = get(sim, "/rest/v1/prospects", page=page, per_page=1000, **params).json()
        if isinstance(body, dict):
            assert body == {"message": "There are no prospects matching the given criteria."}
            return rows
        rows.extend(body)
        if len(body) < 1000:
            return rows
        page += 1


def ids(rows: list[dict[str, Any]]) -> set[int]:
    return {row["id"] for row in rows}


def test_per_page_defaults_to_100_and_allows_1000(simulator: Simulator) -> None:
    assert len(get(simulator, "/rest/v1/prospects").json()) == 100
    assert len(get(simulator, "/rest/v1/prospects", per_page=1000).json()) == len(simulator.account.prospects)
    too_many = get(simulator, "/rest/v1/prospects", per_page=1001)
    assert too_many.status_code == 400 and v1_error(too_many) == (
        "E_WRONG_PARAM",
        "Wrong param [per_page]=1001",
    )


def test_id_filter_takes_a_comma_list(simulator: Simulator) -> None:
    wanted = sorted(simulator.account.prospects)[5:9]
    rows = get(simulator, "/rest/v1/prospects", id=",".join(map(str, wanted))).json()
    assert [row["id"] for row in rows] == wanted


@pytest.mark.parametrize("status", ["ACTIVE", "REPLIED", "BOUNCED", "BLACKLIST", "INVALID"])
def test_status_filter_matches_the_global_status(simulator: Simulator, status: str) -> None:
    expected = {p.id for p in simulator.account.prospects.values() if p.status == status}
    assert ids(all_rows(simulator, status=status)) == expected


@pytest.mark.parametrize(("word", "contacted"), [("true", True), ("yes", True), ("0", False), ("off", False)])
def test_contacted_filter(simulator: Simulator, word: str, contacted: bool) -> None:
    expected = {p.id for p in simulator.account.prospects.values() if (p.sent_mails > 0) == contacted}
    assert expected, "the account should have prospects on both sides"
    assert ids(all_rows(simulator, contacted=word)) == expected


def test_search_is_a_case_insensitive_substring_of_one_field(simulator: Simulator) -> None:
    prospects = list(simulator.account.prospects.values())
    company = prospects[3].fields["company"]
    needle = company.split()[0].upper()
    expected = {p.id for p in prospects if needle.lower() in p.fields["company"].lower()}
    rows = all_rows(simulator, search=f"company={needle}")
    assert ids(rows) == expected and prospects[3].id in expected
    by_legacy = all_rows(simulator, search="snipet1=outbound team")
    assert ids(by_legacy) == {p.id for p in prospects if "outbound team" in p.fields["snippet1"].lower()}
    for bad in ("company", "nickname=x"):
        answer = get(simulator, "/rest/v1/prospects", search=bad)
        assert answer.status_code == 400 and v1_error(answer) == (
            "E_WRONG_PARAM",
            f"Wrong param [search]={bad}",
        )


def test_not_opened_and_not_clicked_are_the_complements(simulator: Simulator) -> None:
    everyone = set(simulator.account.prospects)
    opened, not_opened = (
        ids(all_rows(simulator, activity="OPENED")),
        ids(all_rows(simulator, activity="NOT-OPENED")),
    )
    assert opened and not_opened and opened | not_opened == everyone and not opened & not_opened
    assert opened == {p.id for p in simulator.account.prospects.values() if p.last_open is not None}
    clicked = ids(all_rows(simulator, activity="CLICKED"))
    not_clicked = ids(all_rows(simulator, activity="NOT-CLICKED"))
    assert clicked and clicked | not_clicked == everyone and not clicked & not_clicked
    for row in all_rows(simulator, activity="NOT-OPENED")[:50]:
        # `last_open` comes only with activity=OPENED (reference §4.1); every activity adds `sent_mails`.
        assert "last_open" not in row and isinstance(row["sent_mails"], int)


def test_last_opened_and_last_clicked_diffs_are_strictly_greater(simulator: Simulator) -> None:
    fmt = TimeFormat(simulator.config.timezone).format
    opens = sorted(p.last_open for p in simulator.account.prospects.values() if p.last_open is not None)
    pivot = opens[len(opens) // 2]
    rows = all_rows(simulator, activity="OPENED", diff=f"last_opened>{fmt(pivot)}")
    assert len(rows) == sum(1 for ts in opens if ts > pivot)
    clicks = sorted(ts for p in simulator.account.prospects.values() for ts in p.last_clicks.values())
    pivot = clicks[len(clicks) // 2]
    rows = all_rows(simulator, activity="CLICKED", diff=f"last_clicked>{fmt(pivot)}")
    assert len(rows) == sum(1 for ts in clicks if ts > pivot)


def test_send_after_delays_the_first_email(make_simulator: Any) -> None:
    sim = make_simulator(prospects=50, campaigns=6)
    running = next(c for c in sim.account.campaigns.values() if c.status == "RUNNING" and c.steps)
    later = sim.clock.now() + timedelta(days=2)
    body = {
        "campaign": {"campaign_id": running.id, "send_after": later.strftime("%Y-%m-%dT%H:%M:%S+0000")},
        "prospects": [{"email": "late.starter@example.org"}, {"email": "early.bird@example.org"}],
    }
    answer = requests.post(
        sim.base_url + "/rest/v1/add_prospects_campaign",
        json=body,
        headers={"x-api-key": sim.api_key},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    new_ids = [row["id"] for row in answer.json()["prospects"]]
    sim.account.simulate(86_400)
    assert all(sim.account.memberships[(pid, running.id)].sent == 0 for pid in new_ids)
    sim.account.simulate(86_400 + 3600)
    assert all(sim.account.memberships[(pid, running.id)].sent == 1 for pid in new_ids)
    first_sends = [ev.ts for ev in sim.account.events if ev.prospect_id in new_ids and ev.type == "SENT"]
    assert min(first_sends) >= int(later.timestamp())


def test_more_than_20000_prospects_in_one_request_are_refused(simulator: Simulator) -> None:
    prospects = [{"email": f"bulk{i}@example.org"} for i in range(20_001)]
    answer = requests.post(
        simulator.base_url + "/rest/v1/add_prospects_list",
        json={"prospects": prospects},
        headers={"x-api-key": simulator.api_key},
        timeout=60,
    )
    assert answer.status_code == 400
    assert v1_error(answer) == ("E_WRONG_PARAM", "Too many prospects. The limit is 20000 per request.")
    assert not any(p.fields["email"] == "bulk0@example.org" for p in simulator.account.prospects.values())


def test_slow_fault_holds_the_answer_past_a_client_timeout(make_simulator: Any) -> None:
    sim = make_simulator(slow_fault_s=1.5)
    sim.faults.script(["slow"])
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        get_with_timeout(sim, 0.5)
    assert time.monotonic() - started < 1.4
    time.sleep(1.2)  # let the held answer finish so the key is free again
    assert get_with_timeout(sim, 5).status_code == 200


def get_with_timeout(sim: Simulator, timeout: float) -> requests.Response:
    return requests.get(
        sim.base_url + "/rest/v1/prospects", headers={"x-api-key": sim.api_key}, timeout=timeout
    )


@pytest.mark.parametrize(
    "zone",
    ["Europe/Warsaw", "America/New_York", "Asia/Kolkata", "Australia/Adelaide", "America/St_Johns", "UTC"],
)
def test_timestamp_format_matches_the_zone_database(zone: str) -> None:
    from zoneinfo import ZoneInfo

    fmt, tz = TimeFormat(zone).format, ZoneInfo(zone)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    # Every 37 minutes over two years crosses each daylight-saving change within the hour.
    for step in range(0, 2 * 365 * 24 * 60, 37):
        moment = start + timedelta(minutes=step, seconds=step % 60)
        assert fmt(int(moment.timestamp())) == moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert fmt(-1) == ""


def test_campaign_list_filters_by_status_and_ids(simulator: Simulator) -> None:
    campaigns = simulator.account.campaigns.values()
    running = get(simulator, "/rest/v1/campaign_list", status="RUNNING").json()
    assert [c["id"] for c in running] == sorted(c.id for c in campaigns if c.status == "RUNNING")
    two = get(simulator, "/rest/v1/campaign_list", status="PAUSED,DRAFT").json()
    assert {c["status"] for c in two} == {"PAUSED", "DRAFT"}
    assert len(two) == sum(1 for c in campaigns if c.status in ("PAUSED", "DRAFT"))
    wanted = sorted(c.id for c in campaigns)[:3]
    by_id = get(simulator, "/rest/v1/campaign_list", id=",".join(map(str, wanted))).json()
    assert [c["id"] for c in by_id] == wanted and all("stats" not in c for c in by_id)
    unknown = get(simulator, "/rest/v1/campaign_list", folder="1")
    assert unknown.status_code == 400 and v1_error(unknown) == ("E_WRONG_PARAM", "Unknown param:folder")


def test_row_latency_grows_with_the_page(make_simulator: Any) -> None:
    sim = make_simulator(row_latency_s=0.002)
    started = time.monotonic()
    assert len(get(sim, "/rest/v1/prospects", per_page=500).json()) == 500
    assert time.monotonic() - started >= 500 * 0.002


def _add_to_campaign(sim: Simulator, campaign: dict[str, Any], prospects: list[Any]) -> requests.Response:
    return requests.post(
        sim.base_url + "/rest/v1/add_prospects_campaign",
        json={"campaign": campaign, "prospects": prospects},
        headers={"x-api-key": sim.api_key},
        timeout=30,
    )


def test_send_after_accepts_the_documented_percent_2b(simulator: Simulator) -> None:
    running = next(c for c in simulator.account.campaigns.values() if c.status == "RUNNING" and c.steps)
    later = simulator.clock.now() + timedelta(days=2)
    send_after = later.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z").replace("+", "%2B")
    answer = _add_to_campaign(
        simulator, {"campaign_id": running.id, "send_after": send_after}, [{"email": "pct@example.org"}]
    )
    assert answer.status_code == 200, answer.text
    pid = answer.json()["prospects"][0]["id"]
    simulator.account.simulate(86_400)
    assert simulator.account.memberships[(pid, running.id)].sent == 0


def test_an_email_repeated_in_one_campaign_request_is_a_duplicate(simulator: Simulator) -> None:
    cid = next(iter(simulator.account.campaigns))
    answer = _add_to_campaign(simulator, {"campaign_id": cid}, [{"email": "twice@example.org"}] * 2)
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["prospects"]
    assert second == {
        "email": "twice@example.org",
        "id": first["id"],
        "status": "ERROR",
        "code": "E_DUPLICATE",
        "msg": "Duplicate. The prospect has been added to your prospect base before.",
    }
    assert sum(p.fields["email"] == "twice@example.org" for p in simulator.account.prospects.values()) == 1


@pytest.mark.parametrize("field", ["status", "interested"])
def test_a_non_text_enum_value_is_a_wrong_param(simulator: Simulator, field: str) -> None:
    cid = next(iter(simulator.account.campaigns))
    answer = _add_to_campaign(simulator, {"campaign_id": cid}, [{"email": "odd@example.org", field: ["x"]}])
    assert answer.status_code == 400
    assert v1_error(answer)[0] == "E_WRONG_PARAM"
