"""The simulator against the seed documents: auth, prospects parameters, campaigns, writes, limits, faults."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

from simulator import Simulator

SESSION_MSG = (
    "The API key you've entered is incorrect or no longer valid. Check if you pasted the key correctly. "
    "You can generate a new key in Woodpecker: Settings -> API Keys."
)
# Key order of the prospect sample in seed 002 ("Get a list of prospects").
SEED_KEYS = (
    ["id", "email", "first_name", "last_name", "company", "organization_id", "industry", "website"]
    + ["linkedin_url", "tags", "title", "phone", "address", "city", "state", "country", "last_contacted"]
    + ["last replied", "updated", "encrypted", "snipet1", "snipet2", "snipet3", "snipet4"]
    + [f"snippet{i}" for i in range(1, 16)]
    + ["snippet_labels", "status"]
)


def get(sim: Simulator, path: str, key: str | None = None, **params: Any) -> requests.Response:
    headers = {"x-api-key": key if key is not None else sim.api_key}
    return requests.get(sim.base_url + path, params=params, headers=headers, timeout=30)


def v1_error(resp: requests.Response) -> tuple[str, str]:
    status = resp.json()["status"]
    assert status["status"] == "ERROR"
    return status["code"], status["msg"]


# ------------------------------------------------------------------------------------------------ auth
def test_wrong_key_gets_the_documented_401(simulator: Simulator) -> None:
    resp = get(simulator, "/rest/v1/prospects", key="nope")
    assert resp.status_code == 401
    assert v1_error(resp) == ("E_SESSION", SESSION_MSG)


def test_v2_paths_answer_401_in_the_v2_shape(simulator: Simulator) -> None:
    resp = get(simulator, "/rest/v2/campaigns/1", key="nope")
    assert resp.status_code == 401
    body = resp.json()
    assert body["title"] == "Unauthorized" and body["status"] == 401 and body["detail"] == "Invalid api key"


def test_legacy_basic_auth_with_the_key_as_user_name(simulator: Simulator) -> None:
    resp = requests.get(
        simulator.base_url + "/rest/v1/campaign_list", auth=(simulator.api_key, "X"), timeout=30
    )
    assert resp.status_code == 200 and isinstance(resp.json(), list)


def test_key_without_the_addon_gets_403(simulator: Simulator) -> None:
    resp = get(simulator, "/rest/v1/prospects", key="woodpecker-sim-no-addon")
    assert resp.status_code == 403
    assert v1_error(resp) == ("E_NO_PERMISSION", "You need to have an API keys addon to access our API.")


def test_unknown_url_gets_404_url_not_found(simulator: Simulator) -> None:
    resp = get(simulator, "/rest/v1/webhooks/someMadeUpURL")
    assert resp.status_code == 404
    assert v1_error(resp) == ("E_URL_NOT_FOUND", "URL not found: /Woodpecker/rest/v1/webhooks/someMadeUpURL")


# ------------------------------------------------------------------------------------------ prospects
def test_prospect_records_have_the_documented_keys_in_order(simulator: Simulator) -> None:
    rows = get(simulator, "/rest/v1/prospects", per_page=50).json()
    for row in rows:
        assert list(row) == SEED_KEYS
        assert [row[f"snipet{i}"] for i in range(1, 5)] == [row[f"snippet{i}"] for i in range(1, 5)]
        assert isinstance(row["snippet_labels"], dict)
        assert isinstance(row["encrypted"], bool) and isinstance(row["organization_id"], int)
    assert any(row["last replied"] == "" for row in rows)  # never replied: empty string, not null


def test_timestamps_carry_the_account_offsets_across_daylight_saving(simulator: Simulator) -> None:
    rows = get(simulator, "/rest/v1/prospects", per_page=1000).json()
    offsets = {row["updated"][-5:] for row in rows} | {
        row["last_contacted"][-5:] for row in rows if row["last_contacted"]
    }
    assert {"+0100", "+0200"} <= offsets


def test_paging_total_count_and_the_message_past_the_end(simulator: Simulator) -> None:
    total = len(simulator.truth().prospects)
    first = get(simulator, "/rest/v1/prospects")
    assert len(first.json()) == 100  # default per_page
    assert first.headers["X-Total-Count"] == str(total)
    pages = [get(simulator, "/rest/v1/prospects", page=p, per_page=250) for p in range(1, 4)]
    ids = [row["id"] for page in pages for row in page.json()]
    assert len(ids) == len(set(ids)) == total == 600
    assert ids == sorted(ids)  # default sort: id ascending
    past = get(simulator, "/rest/v1/prospects", page=4, per_page=250)
    assert past.status_code == 200
    assert past.json() == {"message": "There are no prospects matching the given criteria."}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"per_page": "1001"}, "Wrong param [per_page]=1001"),
        ({"madeUpParam": "1"}, "Unknown param:madeUpParam"),
        ({"status": "SLEEPING"}, "Wrong param [status]=SLEEPING"),
        (
            {"diff": "last_opened>2025-01-15T00:00:00+0200"},
            "Wrong param, required activity=OPENED|NOT-OPENED",
        ),
        (
            {"diff": "last_clicked>2025-01-15T00:00:00+0200"},
            "Wrong param, required activity=CLICKED|NOT-CLICKED",
        ),
        ({"sort": "-last_opened"}, "Wrong param, required activity=OPENED|NOT-OPENED"),
        ({"sort": "+shoe_size"}, "Wrong param [sort]=+shoe_size"),
    ],
)
def test_bad_parameters_get_400_wrong_param(
    simulator: Simulator, params: dict[str, str], message: str
) -> None:
    resp = get(simulator, "/rest/v1/prospects", **params)
    assert resp.status_code == 400
    assert v1_error(resp) == ("E_WRONG_PARAM", message)


def test_diff_is_strictly_greater_at_second_resolution_and_needs_an_encoded_plus(
    simulator: Simulator,
) -> None:
    truth = simulator.truth().prospects
    pivot = truth["updated"].sort_values().iloc[len(truth) // 2]
    expected = int((truth["updated"] > pivot).sum())
    stamp = pivot.tz_convert("Europe/Warsaw").strftime("%Y-%m-%dT%H:%M:%S%z")
    resp = get(simulator, "/rest/v1/prospects", diff=f"updated>{stamp}", per_page=1000)  # requests sends %2B
    assert resp.headers["X-Total-Count"] == str(expected)
    assert (
        resp.headers["X-Total-Count"]
        == get(simulator, "/rest/v1/prospects", diff=stamp).headers["X-Total-Count"]
    )
    raw = requests.get(
        f"{simulator.base_url}/rest/v1/prospects?diff=updated>{stamp}",  # a literal "+" arrives as a space
        headers={"x-api-key": simulator.api_key},
        timeout=30,
    )
    assert raw.status_code == 400 and v1_error(raw)[0] == "E_WRONG_PARAM"


def test_sort_descending_by_updated_with_id_as_tie_breaker(simulator: Simulator) -> None:
    rows = get(simulator, "/rest/v1/prospects", sort="-updated", per_page=1000).json()
    truth = simulator.truth().prospects.sort_values(["updated", "id"], ascending=[False, True])
    assert [r["id"] for r in rows] == list(truth["id"])


def test_campaigns_id_rows_are_memberships_with_campaign_fields(simulator: Simulator) -> None:
    truth = simulator.truth().campaign_prospects
    ids = ",".join(str(c) for c in sorted(truth["campaign_id"].unique()))
    rows = get(simulator, "/rest/v1/prospects", campaigns_id=ids, per_page=1000).json()
    rows += get(simulator, "/rest/v1/prospects", campaigns_id=ids, per_page=1000, page=2).json()
    rows = [r for r in rows if "id" in r]
    got = {
        (r["campaign_id"], r["id"]): (r["status"], r["sent_mails"], r["interested"], r["campaign_email"])
        for r in rows
    }
    want = {
        (t.campaign_id, t.prospect_id): (t.status, t.sent_mails, t.interested, t.campaign_email)
        for t in truth.itertuples()
    }
    assert got == want
    assert all("campaign_name" in r for r in rows)


def test_interested_filter_returns_one_row_per_campaign(simulator: Simulator) -> None:
    truth = simulator.truth().campaign_prospects
    interested = truth[truth["interested"] == "INTERESTED"]
    rows = get(simulator, "/rest/v1/prospects", interested="INTERESTED", per_page=1000).json()
    assert sorted((r["id"], r["campaign_id"]) for r in rows) == sorted(
        zip(interested["prospect_id"], interested["campaign_id"], strict=True)
    )
    assert {r["interested"] for r in rows} == {"INTERESTED"}  # underscore spelling in answers


def test_activity_clicked_gives_one_row_per_link(simulator: Simulator) -> None:
    rows = get(simulator, "/rest/v1/prospects", activity="CLICKED", per_page=1000).json()
    assert rows and all({"sent_mails", "last_clicked", "click_url"} <= set(r) for r in rows)
    pairs = [(r["id"], r["click_url"]) for r in rows]
    assert len(pairs) == len(set(pairs))
    opened = get(simulator, "/rest/v1/prospects", activity="OPENED", per_page=1000).json()
    assert all(r["last_open"] for r in opened) and all("sent_mails" in r for r in opened)


def test_campaigns_details_lists_memberships(simulator: Simulator) -> None:
    rows = get(simulator, "/rest/v1/prospects", campaigns_details="true", per_page=1000).json()
    assert "X-Total-Count" not in get(simulator, "/rest/v1/prospects", campaigns_details="true").headers
    details = [d for r in rows for d in r["campaigns_details"]]
    assert len(details) == len(simulator.truth().campaign_prospects)
    assert set(details[0]) == {
        "campaign_id",
        "campaign_name",
        "campaign_status",
        "campaign_prospect_status",
        "interested",
        "campaign_email",
    }


# ------------------------------------------------------------------------------------------ campaigns
def test_campaign_list_adds_stats_only_for_exactly_one_id(simulator: Simulator) -> None:
    campaigns = get(simulator, "/rest/v1/campaign_list").json()
    assert {c["status"] for c in campaigns} == {
        "RUNNING",
        "PAUSED",
        "COMPLETED",
        "DRAFT",
        "EDITED",
        "STOPPED",
    }
    one = get(simulator, "/rest/v1/campaign_list", id=campaigns[0]["id"]).json()
    assert "stats" in one[0]
    assert {"prospects", "sent", "opened", "replied", "bounced", "optout", "queue", "check"} <= set(
        one[0]["stats"]
    )
    two = get(simulator, "/rest/v1/campaign_list", id=f"{campaigns[0]['id']},{campaigns[1]['id']}").json()
    assert len(two) == 2 and all("stats" not in c for c in two)


def test_v2_campaign_structure_and_errors(make_simulator: Any) -> None:
    sim = make_simulator(campaigns=12, unsupported_share=0.3)
    supported = [c for c in sim.account.campaigns.values() if not c.unsupported]
    unsupported = [c for c in sim.account.campaigns.values() if c.unsupported]
    assert supported and unsupported
    body = get(sim, f"/rest/v2/campaigns/{supported[0].id}").json()
    assert body["steps"]["type"] == "START"
    step, numbers = body["steps"]["followup"], 0
    while step is not None:
        numbers += 1
        assert step["type"] == "EMAIL" and len(step["id"]) == 36
        versions = step["body"]["versions"]
        assert [v["version"] for v in versions] == list("ABCDE"[: len(versions)])
        assert all(len(v["id"]) == 64 for v in versions)
        if numbers > 1:
            assert all(v["subject"] == "" for v in versions)
        assert set(step["followup_after"]) == {"range", "value"}
        step = step["followup"]
    assert numbers == len(supported[0].steps)
    conflict = get(sim, f"/rest/v2/campaigns/{unsupported[0].id}")
    assert conflict.status_code == 409
    assert conflict.json() == {
        "type": "API_UNSUPPORTED_CAMPAIGN_FEATURES",
        "message": "Campaign contains currently unsupported features",
        "details": None,
    }
    missing = get(sim, "/rest/v2/campaigns/42")
    assert missing.status_code == 404 and missing.json()["type"] == "CAMPAIGN_NOT_EXIST"


# ------------------------------------------------------------------------------------------ writes
def post(sim: Simulator, path: str, body: Any) -> requests.Response:
    return requests.post(sim.base_url + path, json=body, headers={"x-api-key": sim.api_key}, timeout=30)


def test_add_prospects_list_all_partial_and_none(simulator: Simulator) -> None:
    added = post(simulator, "/rest/v1/add_prospects_list", {"prospects": [{"email": "jared@piedpiper.com"}]})
    assert added.status_code == 200 and added.json()["status"] == {"status": "OK", "code": "OK", "msg": "OK"}
    jared = added.json()["prospects"][0]["id"]
    partial = post(
        simulator,
        "/rest/v1/add_prospects_list",
        {
            "prospects": [
                {"email": "erlich@bachman.com"},
                {"email": "jared@piedpiper.com"},
                {"email": "erlichbachman.com"},
            ]
        },
    ).json()
    assert partial["status"]["code"] == "OK"
    assert partial["prospects"][1] == {
        "email": "jared@piedpiper.com",
        "id": jared,
        "status": "ERROR",
        "code": "E_DUPLICATE",
        "msg": "Duplicate. The prospect has been added to your prospect base before.",
    }
    assert partial["prospects"][2] == {
        "email": "erlichbachman.com",
        "status": "ERROR",
        "code": "E_EMAIL",
        "msg": "This looks like invalid email format: erlichbachman.com",
    }
    before = len(simulator.account.prospects)
    none = post(
        simulator,
        "/rest/v1/add_prospects_list",
        {"prospects": [{"email": "jared@piedpiper.com"}, {"email": "x"}]},
    )
    assert none.status_code == 400
    assert none.json()["status"] == {
        "status": "ERROR",
        "code": "E_DUPLICATE",
        "msg": partial["prospects"][1]["msg"],
    }
    assert len(simulator.account.prospects) == before
    bad = requests.post(
        simulator.base_url + "/rest/v1/add_prospects_list",
        data=b"{nope",
        headers={"x-api-key": simulator.api_key},
        timeout=30,
    )
    assert bad.status_code == 400 and v1_error(bad) == ("E_PARSER_ERROR", "Invalid request body.")


def test_add_prospects_campaign_duplicates_status_and_force(simulator: Simulator) -> None:
    truth = simulator.truth()
    campaign = int(truth.campaigns["id"].iloc[0])
    member = truth.campaign_prospects[truth.campaign_prospects["campaign_id"] == campaign].iloc[0]
    email = truth.prospects.set_index("id").loc[member["prospect_id"], "email"]
    replied = truth.prospects[truth.prospects["status"] == "REPLIED"].iloc[0]
    body = {
        "campaign": {"campaign_id": campaign},
        "update": True,
        "prospects": [
            {"email": email},
            {"email": replied["email"], "snippet1": "kept"},
            {"email": "new@x.example"},
        ],
    }
    answer = post(simulator, "/rest/v1/add_prospects_campaign", body).json()
    assert answer["status"]["code"] == "OK"
    assert answer["prospects"][0]["prospect_campaign"] == "DUPLICATE"
    assert answer["prospects"][1]["code"] == "E_INV_STATUS"
    assert (
        simulator.account.prospects[int(replied["id"])].fields["snippet1"] == "kept"
    )  # documented side effect
    forced = post(
        simulator,
        "/rest/v1/add_prospects_campaign",
        {**body, "force": True, "prospects": [{"email": replied["email"]}]},
    )
    assert forced.status_code == 200 and "code" not in forced.json()["prospects"][0]
    missing = post(simulator, "/rest/v1/add_prospects_campaign", {**body, "campaign": {"campaign_id": 1}})
    assert missing.status_code == 400 and v1_error(missing) == ("E_RECORD_NOT_FOUND", "Campaign not found.")


def test_webhook_subscription_rules(simulator: Simulator) -> None:
    ok = post(
        simulator,
        "/rest/v1/webhooks/subscribe",
        {"target_url": "https://a.example/h", "event": "prospect_replied"},
    )
    assert ok.status_code == 201
    assert ok.json() == {
        "target_url": "https://a.example/h",
        "event": "prospect_replied",
        "message": "Subscribed.",
    }
    again = post(
        simulator,
        "/rest/v1/webhooks/subscribe",
        {"target_url": "https://a.example/h", "event": "prospect_replied"},
    )
    assert again.status_code == 409 and v1_error(again) == ("E_WRONG_PARAM", "Event defined for this url.")
    for n in (2, 3):
        assert (
            post(
                simulator,
                "/rest/v1/webhooks/subscribe",
                {"target_url": f"https://{n}.example", "event": "prospect_replied"},
            ).status_code
            == 201
        )
    fourth = post(
        simulator,
        "/rest/v1/webhooks/subscribe",
        {"target_url": "https://4.example", "event": "prospect_replied"},
    )
    assert fourth.status_code == 409
    listed = get(simulator, "/rest/v2/webhooks").json()["webhooks"]
    assert len(listed) == 3
    assert (
        post(
            simulator,
            "/rest/v1/webhooks/unsubscribe",
            {"target_url": "https://2.example", "event": "prospect_replied"},
        ).status_code
        == 200
    )
    assert len(get(simulator, "/rest/v2/webhooks").json()["webhooks"]) == 2


def test_delete_prospects_globally_and_from_a_campaign(simulator: Simulator) -> None:
    truth = simulator.truth().campaign_prospects
    pid, cid = int(truth["prospect_id"].iloc[0]), int(truth["campaign_id"].iloc[0])
    headers = {"x-api-key": simulator.api_key}
    resp = requests.delete(
        f"{simulator.base_url}/rest/v1/prospects",
        params={"id": pid, "campaigns_id": cid},
        headers=headers,
        timeout=30,
    )
    assert resp.status_code == 200 and resp.content == b""
    assert (pid, cid) not in simulator.account.memberships and pid in simulator.account.prospects
    requests.delete(
        f"{simulator.base_url}/rest/v1/prospects", params={"id": pid}, headers=headers, timeout=30
    )
    assert pid not in set(simulator.truth().prospects["id"])


# ------------------------------------------------------------------------------------ limits and faults
def test_overlapping_requests_are_throttled_409_on_v1_and_429_on_v2(make_simulator: Any) -> None:
    sim = make_simulator(latency_s=0.6)
    results: dict[str, int] = {}

    def slow() -> None:
        results["first"] = get(sim, "/rest/v1/campaign_list").status_code

    thread = threading.Thread(target=slow)
    thread.start()
    threading.Event().wait(0.2)
    v1 = get(sim, "/rest/v1/prospects")
    v2 = get(sim, f"/rest/v2/campaigns/{next(iter(sim.account.campaigns))}")
    thread.join()
    assert results["first"] == 200
    assert v1.status_code == 409 and v1_error(v1) == ("E_TOO_MANY_REQUESTS", "Too many requests in one time")
    assert v2.status_code == 429
    assert sim.max_concurrency == 1


def test_queue_mode_serves_overlapping_requests_in_turn(make_simulator: Any) -> None:
    sim = make_simulator(latency_s=0.3, rate_limit="queue")
    codes: list[int] = []
    threads = [
        threading.Thread(target=lambda: codes.append(get(sim, "/rest/v1/campaign_list").status_code))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200, 200] and sim.max_concurrency == 1


@pytest.mark.parametrize(
    ("fault", "status"),
    [("throttle", 409), ("throttle400", 400), ("error500", 500), ("bad_gateway", 502), ("unavailable", 503)],
)
def test_scripted_faults_answer_as_documented(simulator: Simulator, fault: str, status: int) -> None:
    simulator.faults.script([fault])
    resp = get(simulator, "/rest/v1/prospects")
    assert resp.status_code == status
    if fault in ("throttle", "throttle400"):
        assert v1_error(resp)[0] == "E_TOO_MANY_REQUESTS"
    elif fault == "error500":
        assert v1_error(resp) == ("E_UNNOWN", "Unknown error.")
    else:
        assert resp.text.startswith("<html>")
    assert get(simulator, "/rest/v1/prospects").status_code == 200  # only the scripted request
    assert simulator.faults.injected[fault] == 1


def test_truncated_and_dropped_answers_break_the_body(simulator: Simulator) -> None:
    simulator.faults.script(["truncated"])
    with pytest.raises(json.JSONDecodeError):
        json.loads(get(simulator, "/rest/v1/prospects").text)
    simulator.faults.script(["drop"])
    with pytest.raises(requests.exceptions.RequestException):
        get(simulator, "/rest/v1/prospects", per_page=500).json()


def test_random_faults_are_reproducible(make_simulator: Any) -> None:
    def statuses() -> list[int]:
        sim = make_simulator(fault_rate=0.3, fault_seed=11, fault_kinds=("throttle", "error500"))
        return [get(sim, "/rest/v1/campaign_list").status_code for _ in range(30)]

    first, second = statuses(), statuses()
    assert first == second and {409, 500, 200} <= set(first)


# ---------------------------------------------------------------------------------------- live account
def test_edits_bump_updated_but_automatic_events_do_not_by_default(simulator: Simulator) -> None:
    truth = simulator.truth()
    pid = int(truth.campaign_prospects["prospect_id"].iloc[0])
    cid = int(truth.campaign_prospects["campaign_id"].iloc[0])
    before = simulator.account.prospects[pid].updated
    simulator.clock.advance(60)
    simulator.account.record_reply(pid, cid)
    assert simulator.account.prospects[pid].updated == before
    assert simulator.truth().prospects.set_index("id").loc[pid, "status"] == "REPLIED"
    simulator.account.edit_prospect(pid, title="Chief Piper")
    assert simulator.account.prospects[pid].updated == simulator.clock.ts() > before
    row = get(simulator, "/rest/v1/prospects", id=pid).json()[0]
    assert row["title"] == "Chief Piper" and row["status"] == "REPLIED" and row["last replied"]


def test_automatic_events_bump_updated_when_switched_on(make_simulator: Any) -> None:
    sim = make_simulator(auto_bumps_updated=True)
    pid, cid = next(iter(sim.account.memberships))
    sim.clock.advance(60)
    sim.account.record_open(pid, cid)
    assert sim.account.prospects[pid].updated == sim.clock.ts()


def test_changes_between_pages_show_on_the_next_page(simulator: Simulator) -> None:
    last_id = int(simulator.truth().prospects["id"].max())

    def rename_last(record: Any) -> None:
        if record.query.get("page") == "2":
            simulator.account.edit_prospect(last_id, first_name="Changed")

    simulator.on_request(rename_last)
    page2 = get(simulator, "/rest/v1/prospects", page=2, per_page=300).json()
    assert page2[-1]["id"] == last_id and page2[-1]["first_name"] == "Changed"


def test_simulate_produces_new_activity_and_truth_follows(simulator: Simulator) -> None:
    events = len(simulator.account.events)
    simulator.account.simulate(3 * 86_400)
    assert len(simulator.account.events) > events
    truth = simulator.truth()
    assert (truth.campaign_engagement["contacted"] <= truth.campaign_engagement["enrolled"]).all()


def test_same_seed_same_account(make_simulator: Any) -> None:
    one, two, other = make_simulator(seed=3), make_simulator(seed=3), make_simulator(seed=4)
    rows = [get(s, "/rest/v1/prospects", per_page=1000).json() for s in (one, two, other)]
    assert rows[0] == rows[1] and rows[0] != rows[2]


def test_vendor_stats_keep_a_deleted_prospects_history(simulator: Simulator) -> None:
    truth = simulator.truth()
    replied = truth.campaign_prospects[truth.campaign_prospects["status"] == "REPLIED"].iloc[0]
    cid, pid = int(replied["campaign_id"]), int(replied["prospect_id"])
    stats = lambda: get(simulator, "/rest/v1/campaign_list", id=cid).json()[0]["stats"]  # noqa: E731
    before = stats()
    simulator.account.delete_prospect(pid)
    after = stats()
    assert after["replied"] == before["replied"] and after["prospects"] == before["prospects"] - 1
    engagement = simulator.truth().campaign_engagement.set_index("campaign_id")
    assert (
        engagement.loc[cid, "replied"]
        == int(truth.campaign_engagement.set_index("campaign_id").loc[cid, "replied"]) - 1
    )
