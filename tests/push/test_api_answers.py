"""Every documented answer of the two add endpoints, through `send_batch`, against the simulator over HTTP."""

from __future__ import annotations

import threading

import pytest

from simulator import NO_ADDON_API_KEY, Simulator
from sources.woodpecker.client import WoodpeckerClient
from sources.woodpecker.errors import ApiError, AuthenticationError
from sources.woodpecker.progress import RunStats
from sources.woodpecker.prospect_writes import PushTarget, post_body, send_batch

from .conftest import campaign_with_members, email_index, write_posts

DATABASE = PushTarget()


def test_all_added_gets_each_new_id(sim: Simulator, client: WoodpeckerClient) -> None:
    sent = [{"email": "jared@piedpiper.com", "first_name": "Jared"}, {"email": "erlich@bachman.com"}]
    outcomes = send_batch(client, DATABASE, sent)
    index = email_index(sim)
    assert [(o.email, o.outcome, o.code) for o in outcomes] == [
        ("jared@piedpiper.com", "added", None),
        ("erlich@bachman.com", "added", None),
    ]
    assert [o.prospect_id for o in outcomes] == [index["jared@piedpiper.com"], index["erlich@bachman.com"]]
    assert sim.account.prospects[index["jared@piedpiper.com"]].fields["first_name"] == "Jared"


def test_partially_added_keeps_duplicates_and_bad_emails_apart(
    sim: Simulator, client: WoodpeckerClient
) -> None:
    existing = next(iter(sim.account.prospects.values()))
    before = len(sim.account.prospects)
    sent = [
        {"email": "new.one@example.org"},
        {"email": existing.fields["email"]},
        {"email": "erlichbachman.com"},
    ]
    outcomes = send_batch(client, DATABASE, sent)
    assert write_posts(sim)[-1].status == 200
    new, duplicate, bad = outcomes
    assert (new.outcome, new.prospect_id) == ("added", email_index(sim)["new.one@example.org"])
    assert (duplicate.outcome, duplicate.code, duplicate.prospect_id) == (
        "duplicate",
        "E_DUPLICATE",
        existing.id,
    )
    assert duplicate.message == "Duplicate. The prospect has been added to your prospect base before."
    assert (bad.outcome, bad.prospect_id) == ("E_EMAIL", None)
    assert bad.message == "This looks like invalid email format: erlichbachman.com"
    assert len(sim.account.prospects) == before + 1


def test_full_rejection_is_a_400_with_per_prospect_errors_and_writes_nothing(
    sim: Simulator, client: WoodpeckerClient
) -> None:
    existing = next(iter(sim.account.prospects.values()))
    before = len(sim.account.prospects)
    outcomes = send_batch(client, DATABASE, [{"email": existing.fields["email"]}, {"email": "x"}])
    assert write_posts(sim)[-1].status == 400
    assert [(o.outcome, o.code, o.prospect_id) for o in outcomes] == [
        ("duplicate", "E_DUPLICATE", existing.id),
        ("E_EMAIL", "E_EMAIL", None),
    ]
    assert len(sim.account.prospects) == before


def test_update_changes_an_existing_prospect(sim: Simulator, client: WoodpeckerClient) -> None:
    existing = next(iter(sim.account.prospects.values()))
    target = PushTarget(update=True)
    (outcome,) = send_batch(client, target, [{"email": existing.fields["email"], "snippet3": "refreshed"}])
    assert (outcome.outcome, outcome.prospect_id) == ("added_or_updated", existing.id)
    assert sim.account.prospects[existing.id].fields["snippet3"] == "refreshed"


def test_campaign_duplicate_without_update_and_updated_with_it(
    sim: Simulator, client: WoodpeckerClient
) -> None:
    cid = campaign_with_members(sim)
    pid = next(
        p for (p, c) in sim.account.memberships if c == cid and sim.account.prospects[p].status == "ACTIVE"
    )
    email = sim.account.prospects[pid].fields["email"]
    (plain,) = send_batch(client, PushTarget(campaign_id=cid), [{"email": email, "snippet2": "new"}])
    assert (plain.outcome, plain.code, plain.prospect_id) == ("duplicate", "E_DUPLICATE", pid)
    assert sim.account.prospects[pid].fields.get("snippet2") != "new"
    (updated,) = send_batch(
        client, PushTarget(campaign_id=cid, update=True), [{"email": email, "snippet2": "new"}]
    )
    assert (updated.outcome, updated.prospect_id) == ("updated", pid)
    assert sim.account.prospects[pid].fields["snippet2"] == "new"


def test_non_active_prospect_needs_force(sim: Simulator, client: WoodpeckerClient) -> None:
    cid = campaign_with_members(sim)
    replied = next(
        p
        for p in sim.account.prospects.values()
        if p.status == "REPLIED" and (p.id, cid) not in sim.account.memberships
    )
    rows = [{"email": replied.fields["email"]}]
    (refused,) = send_batch(client, PushTarget(campaign_id=cid), rows)
    assert (refused.outcome, refused.prospect_id) == ("E_INV_STATUS", replied.id)
    assert refused.message == "Status is other than ACTIVE."
    assert (replied.id, cid) not in sim.account.memberships
    (forced,) = send_batch(client, PushTarget(campaign_id=cid, force=True), rows)
    assert (forced.outcome, forced.prospect_id) == ("added", replied.id)
    assert (replied.id, cid) in sim.account.memberships


def test_unknown_campaign_is_a_request_error(sim: Simulator, client: WoodpeckerClient) -> None:
    with pytest.raises(ApiError) as caught:
        send_batch(client, PushTarget(campaign_id=1), [{"email": "a@example.org"}])
    assert (caught.value.status, caught.value.code) == (400, "E_RECORD_NOT_FOUND")
    assert caught.value.api_message == "Campaign not found."
    assert "a@example.org" not in email_index(sim)


def test_bad_body_is_a_request_error(sim: Simulator, client: WoodpeckerClient) -> None:
    with pytest.raises(ApiError) as caught:
        post_body(client, DATABASE, {"prospects": "not a list"}, [])
    assert (caught.value.status, caught.value.code) == (400, "E_PARSER_ERROR")
    assert len(write_posts(sim)) == 1  # request errors are final, not retried


@pytest.mark.parametrize(
    ("key", "status", "code"), [("wrong-key", 401, "E_SESSION"), (NO_ADDON_API_KEY, 403, "E_NO_PERMISSION")]
)
def test_rejected_key_is_not_retried(sim: Simulator, key: str, status: int, code: str) -> None:
    client = WoodpeckerClient(key, sim.base_url, RunStats(), backoff_factor=0.0)
    with pytest.raises(AuthenticationError) as caught:
        send_batch(client, DATABASE, [{"email": "a@example.org"}])
    assert (caught.value.status, caught.value.code) == (status, code)
    assert len(write_posts(sim)) == 1
    assert key not in str(caught.value)


def test_throttling_and_server_errors_are_retried_and_the_batch_applied_once(
    sim: Simulator, client: WoodpeckerClient
) -> None:
    sim.faults.script(["throttle", "throttle400", "error500", "unavailable"])
    before = len(sim.account.prospects)
    outcomes = send_batch(client, DATABASE, [{"email": "retry.me@example.org"}])
    assert [r.status for r in write_posts(sim)] == [409, 400, 500, 503, 200]
    assert outcomes[0].outcome == "added"
    assert len(sim.account.prospects) == before + 1
    assert client.stats.retries == 4


def test_one_request_in_flight_even_from_two_threads(sim: Simulator, client: WoodpeckerClient) -> None:
    batches = [[{"email": f"t{n}.{i}@example.org"} for i in range(200)] for n in range(4)]
    threads = [threading.Thread(target=send_batch, args=(client, DATABASE, b)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sim.max_concurrency == 1
    assert [r.status for r in write_posts(sim)] == [200] * 4  # no 409 "one request at a time"
    assert all(f"t{n}.199@example.org" in email_index(sim) for n in range(4))


def test_send_after_reaches_the_campaign(sim: Simulator, client: WoodpeckerClient) -> None:
    from datetime import timedelta

    from pipelines.push.target import api_send_after

    cid = next(c.id for c in sim.account.campaigns.values() if c.status == "RUNNING" and c.steps)
    later = sim.clock.now() + timedelta(days=2)
    target = PushTarget(campaign_id=cid, send_after=api_send_after(later.isoformat()))
    assert target.send_after is not None and "%2B" in target.send_after
    (outcome,) = send_batch(client, target, [{"email": "later@example.org"}])
    sim.account.simulate(86_400)
    assert sim.account.memberships[(outcome.prospect_id, cid)].sent == 0
    sim.account.simulate(86_400 + 3600)
    assert sim.account.memberships[(outcome.prospect_id, cid)].sent == 1


def test_a_busy_key_is_answered_409_and_the_batch_waits_for_its_turn(sim: Simulator) -> None:
    gate = sim._server.gate
    assert gate.acquire(sim.api_key)  # another request of this key is being processed
    release = threading.Timer(0.3, gate.release, args=(sim.api_key,))
    release.start()
    client = WoodpeckerClient(sim.api_key, sim.base_url, RunStats(), backoff_factor=0.1, max_attempts=6)
    try:
        (outcome,) = send_batch(client, DATABASE, [{"email": "patient@example.org"}])
    finally:
        release.join()
    statuses = [r.status for r in write_posts(sim)]
    assert statuses[0] == 409 and statuses[-1] == 200 and statuses.count(200) == 1
    assert outcome.outcome == "added" and email_index(sim)["patient@example.org"] == outcome.prospect_id
    assert client.stats.retries == len(statuses) - 1
