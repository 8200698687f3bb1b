"""The source over real HTTP against the simulator: loads equal the truth, with the documented requests."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator import GroundTruth, Simulator

from .harness import Loader, assert_matches_truth

PROSPECTS = "/rest/v1/prospects"
CAMPAIGN_LIST = "/rest/v1/campaign_list"
NO_CHANGE_REQUESTS = 11  # docs/source.md, "Request budget"
ONLY_PROSPECTS = ("prospects",)
MEMBERSHIPS = ("campaigns", "prospects", "campaign_prospects")
MEMBERSHIPS_AND_STATS = (*MEMBERSHIPS, "campaign_stats")

MakeSim = Callable[..., Simulator]


def test_full_load_equals_truth_with_ceil_n_over_per_page_requests(
    make_simulator: MakeSim, tmp_path: Path
) -> None:
    sim = make_simulator(prospects=2300, campaigns=8)
    truth = sim.truth()
    loader = Loader(sim, tmp_path)
    run = loader.run()
    assert_matches_truth(loader)
    n_campaigns = len(truth.campaigns)
    assert run.stats.requests == {
        "campaigns": 1 + n_campaigns,  # the list, then one v2 read per campaign
        "prospects": math.ceil(len(truth.prospects) / 1000),
        "campaign_prospects": math.ceil(len(truth.campaign_prospects) / 1000),
        "prospect_opens": max(1, math.ceil(len(truth.opens) / 1000)),
        "prospect_clicks": max(1, math.ceil(len(truth.clicks) / 1000)),
        "campaign_stats": n_campaigns,
    }
    assert run.stats.total_requests == len(run.requests)
    assert run.count(CAMPAIGN_LIST) == 1 + n_campaigns
    assert sim.max_concurrency == 1
    assert run.flagged == {"campaigns": 0, "prospects": 0, "campaign_prospects": 0}


@pytest.mark.parametrize("per_page", [120])
def test_full_scan_request_count_with_small_pages(
    make_simulator: MakeSim, tmp_path: Path, per_page: int
) -> None:
    sim = make_simulator(prospects=950, campaigns=4)
    truth = sim.truth()
    loader = Loader(sim, tmp_path, options={"per_page": per_page})
    run = loader.run()
    assert run.stats.requests["prospects"] == math.ceil(len(truth.prospects) / per_page)
    assert run.stats.requests["campaign_prospects"] == math.ceil(len(truth.campaign_prospects) / per_page)
    pages = sorted(
        int(r.query["page"]) for r in run.requests if r.path == PROSPECTS and "campaigns_id" not in r.query
    )
    assert pages == list(range(1, math.ceil(len(truth.prospects) / per_page) + 1))  # no trailing empty page
    assert_matches_truth(loader)


def test_second_run_without_changes(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=800, campaigns=8)
    loader = Loader(sim, tmp_path)
    loader.run()
    run = loader.run()
    assert len(run.requests) == NO_CHANGE_REQUESTS
    assert run.stats.requests == {
        "campaigns": 1,
        "prospects": 4,
        "campaign_prospects": 4,
        "prospect_opens": 1,
        "prospect_clicks": 1,
    }
    assert_matches_truth(loader)
    assert sim.max_concurrency == 1
    # the offset's "+" arrived as "+" (sent as %2B; a bare "+" would decode to a space, which the API rejects)
    diffs = [r.query["diff"] for r in run.requests if "diff" in r.query]
    assert len(diffs) == 4  # updated (twice: prospects, memberships), last_opened, last_clicked
    assert all(
        re.fullmatch(r"(updated|last_opened|last_clicked)>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", d)
        for d in diffs
    )
    assert all(r.status == 200 for r in run.requests)


def _memberships(sim: Simulator, status: str | None = None) -> list[tuple[int, int]]:
    """(prospect_id, campaign_id) of live memberships in running campaigns, optionally by campaign status."""
    truth = sim.truth()
    running = set(truth.campaigns.loc[truth.campaigns.status == "RUNNING", "id"])
    rows = truth.campaign_prospects
    rows = rows[rows.campaign_id.isin(running)]
    if status is not None:
        rows = rows[rows.status == status]
    return [(int(p), int(c)) for p, c in zip(rows.prospect_id, rows.campaign_id, strict=True)]


def _apply_changes(sim: Simulator) -> None:
    """Edits, new prospects and enrolments, replies, bounces, opens, clicks and interest marks."""
    account = sim.account
    active = _memberships(sim, "ACTIVE")
    assert len(active) >= 8, "the scenario needs active memberships"
    truth = sim.truth()
    account.edit_prospect(int(truth.prospects.id.iloc[3]), first_name="Renamed", snippet_labels={"team": "x"})
    new_ids = account.add_prospects(3)
    account.enroll(new_ids[0], active[0][1])
    existing = int(truth.prospects.id.iloc[10])
    other_campaigns = sorted(set(truth.campaigns.id) - {c for p, c in _memberships(sim) if p == existing})
    account.enroll(existing, int(other_campaigns[0]))
    account.record_reply(*active[1])
    account.record_autoreply(*active[2])
    account.record_send(*active[3])
    account.advance(900)  # bounces arrive minutes to hours after their send
    account.record_bounce(*active[3])
    account.record_open(*active[4])
    account.record_click(*active[5])
    account.record_open(*active[6])
    account.set_interest(*active[7], "MAYBE_LATER")


@pytest.mark.parametrize("auto_bumps_updated", [False, True])
def test_changes_are_loaded_with_few_requests(
    make_simulator: MakeSim, tmp_path: Path, auto_bumps_updated: bool
) -> None:
    sim = make_simulator(prospects=800, campaigns=8, auto_bumps_updated=auto_bumps_updated)
    loader = Loader(sim, tmp_path)
    loader.run()
    sim.clock.advance(600)
    _apply_changes(sim)
    sim.clock.advance(60)
    run = loader.run()
    assert_matches_truth(loader)
    stats_requests = run.stats.requests.pop("campaign_stats", 0)
    assert sum(run.stats.requests.values()) == NO_CHANGE_REQUESTS  # every change fits the usual requests
    assert 1 <= stats_requests <= len(sim.truth().campaigns)
    assert run.stats.rows["campaign_prospects"] < 100 and run.stats.rows["prospects"] < 100


def test_simulated_activity_with_auto_bumped_updated(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=700, campaigns=6, auto_bumps_updated=True)
    loader = Loader(sim, tmp_path)
    loader.run()
    sim.account.simulate(12 * 3600)
    run = loader.run()
    assert_matches_truth(loader)
    assert run.stats.rows.get("campaign_prospects", 0) > 0
    assert len(run.requests) <= NO_CHANGE_REQUESTS + 10 + len(sim.truth().campaigns)


def test_replies_and_bounces_arrive_within_one_run_without_updated(
    make_simulator: MakeSim, tmp_path: Path
) -> None:
    sim = make_simulator(prospects=500, campaigns=6, auto_bumps_updated=False)
    loader = Loader(sim, tmp_path)
    loader.run(resources=MEMBERSHIPS_AND_STATS)
    before = sim.truth().prospects.set_index("id").updated
    sim.clock.advance(3600)
    active = _memberships(sim, "ACTIVE")
    sim.account.record_reply(*active[0])
    sim.account.record_send(*active[1])
    sim.account.advance(1800)
    sim.account.record_bounce(*active[1])
    after = sim.truth().prospects.set_index("id").updated
    assert after[active[0][0]] == before[active[0][0]]  # the scenario: `updated` did not move
    loader.run(resources=MEMBERSHIPS_AND_STATS)
    assert_matches_truth(loader, tables=("prospects", "campaign_prospects", "campaign_stats"))
    members = loader.table("campaign_prospects").set_index(["prospect_id", "campaign_id"]).status
    assert members[active[0]] == "REPLIED" and members[active[1]] == "BOUNCED"


def test_opt_outs_without_updated_wait_for_reconciliation(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=500, campaigns=6, auto_bumps_updated=False)
    loader = Loader(sim, tmp_path)
    loader.run(resources=MEMBERSHIPS)
    prospect_id, campaign_id = _memberships(sim, "ACTIVE")[0]
    sim.account.record_opt_out(prospect_id, campaign_id)
    loader.run(resources=MEMBERSHIPS)
    members = loader.table("campaign_prospects").set_index(["prospect_id", "campaign_id"]).status
    assert members[(prospect_id, campaign_id)] == "ACTIVE"  # documented limit: no timestamp moved
    loader.run(resources=MEMBERSHIPS, reconcile=True)
    assert_matches_truth(loader, tables=("prospects", "campaign_prospects"))


def test_changes_in_the_same_second_as_the_cursor(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=500, campaigns=6)
    loader = Loader(sim, tmp_path)
    target = int(sim.truth().prospects.id.iloc[-1])
    edited: list[int] = []

    def edit_after_prospects_were_read(record: object) -> None:
        # during the first run, right after the prospect scan, in the same virtual second
        if (
            getattr(record, "path", "") == PROSPECTS
            and "campaigns_id" in getattr(record, "query", {})
            and not edited
        ):
            sim.account.edit_prospect(target, last_name="SameSecond")
            edited.append(target)

    sim.on_request(edit_after_prospects_were_read)
    loader.run(resources=MEMBERSHIPS)
    assert edited
    assert loader.table("prospects").set_index("id").last_name[target] != "SameSecond"
    loader.run(resources=MEMBERSHIPS)  # the clock has not moved: the change has the cursor's own second
    assert loader.table("prospects").set_index("id").last_name[target] == "SameSecond"
    assert_matches_truth(loader, tables=MEMBERSHIPS)


def test_mutations_between_pages_are_not_lost(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=700, campaigns=6)
    loader = Loader(sim, tmp_path, options={"per_page": 150})
    by_updated = sim.truth().prospects.sort_values(["updated", "id"]).id.tolist()
    deleted: list[int] = []
    served: dict[str, int] = {}
    after_prospects: list[GroundTruth] = []

    def mutate_mid_scan(record: object) -> None:
        path, query = getattr(record, "path", ""), getattr(record, "query", {})
        if path != PROSPECTS or "activity" in query:
            return
        stream = "memberships" if "campaigns_id" in query else "prospects"
        served[stream] = served.get(stream, 0) + 1
        if stream == "memberships" and served[stream] == 1:
            after_prospects.append(sim.truth())  # the prospects as they were when their scan ended
        if served[stream] != 3:
            return
        account = sim.account
        if stream == "prospects":
            account.edit_prospect(by_updated[5], city="Moved")  # read on page 1, now at the end
            account.delete_prospect(by_updated[20])  # read on page 1: later rows slide back
            deleted.append(by_updated[20])
            account.add_prospects(2)
        else:
            members = sim.truth().campaign_prospects
            first = members.sort_values("prospect_id").iloc[0]
            account.delete_prospect(int(first.prospect_id))
            deleted.append(int(first.prospect_id))
            account.enroll(by_updated[30], int(first.campaign_id))

    sim.on_request(mutate_mid_scan)
    run = loader.run(resources=MEMBERSHIPS)
    assert served["prospects"] > 3 and served["memberships"] > 3
    assert run.stats.repairs >= 2
    # everything that exists is loaded, in its state at the end of its scan; deleted rows wait for
    # reconciliation
    assert_matches_truth(loader, ("prospects",), deleted_prospects=deleted, truth=after_prospects[0])
    assert_matches_truth(loader, ("campaign_prospects",), deleted_prospects=deleted)
    run = loader.run(resources=MEMBERSHIPS, reconcile=True)
    assert run.flagged["prospects"] == len(deleted)
    assert_matches_truth(loader, tables=MEMBERSHIPS)


def test_continuous_deletions_make_the_scan_inconsistent_and_nothing_is_flagged(
    make_simulator: MakeSim, tmp_path: Path
) -> None:
    sim = make_simulator(prospects=400, campaigns=2)
    # each repair re-reads from the end of the first page, so it needs more pages than repairs allowed
    loader = Loader(sim, tmp_path, options={"per_page": 50})
    loader.run(resources=ONLY_PROSPECTS)
    truth = sim.truth()
    gone_before = int(truth.prospects.id.iloc[0])
    sim.account.delete_prospect(gone_before)  # a reconcile run would flag this one…
    ids = truth.prospects.sort_values(["updated", "id"]).id.tolist()[1:]

    def delete_on_every_page(record: object) -> None:
        query = getattr(record, "query", {})
        if getattr(record, "path", "") == PROSPECTS and not {"campaigns_id", "activity"} & set(query):
            sim.account.delete_prospect(ids.pop())  # …but the data never holds still

    sim.on_request(delete_on_every_page)
    run = loader.run(resources=ONLY_PROSPECTS, reconcile=True)
    assert run.flagged["prospects"] == 0
    recorded = loader.pipeline.state["sources"]["woodpecker"]["reconcile"]["prospects"]
    assert recorded["consistent"] is False
    assert loader.table("prospects", live_only=False).deleted_at.isna().all()
    sim._server.callbacks.clear()
    run = loader.run(resources=ONLY_PROSPECTS, reconcile=True)
    assert run.flagged["prospects"] == len(truth.prospects) - len(sim.truth().prospects)
    assert_matches_truth(loader, tables=("prospects",))


def test_reconciliation_flags_deleted_prospects_campaigns_and_memberships(
    make_simulator: MakeSim, tmp_path: Path
) -> None:
    sim = make_simulator(prospects=500, campaigns=6)
    loader = Loader(sim, tmp_path)
    loader.run()
    before = sim.truth()
    account = sim.account
    for prospect_id in before.prospects.id.iloc[[4, 9]]:
        account.delete_prospect(int(prospect_id))
    campaign_id = int(before.campaigns.id.iloc[-1])
    account.delete_campaign(campaign_id)
    member = before.campaign_prospects[before.campaign_prospects.campaign_id != campaign_id].iloc[-1]
    account.delete_prospect(int(member.prospect_id), campaign_ids=[int(member.campaign_id)])
    after = sim.truth()

    run = loader.run()  # campaigns are reconciled every run; the others on schedule (not yet due)
    assert run.flagged["campaigns"] == 1 and run.flagged["prospects"] == 0
    run = loader.run(reconcile=True)
    keys = {
        (int(c), int(p))
        for c, p in zip(
            before.campaign_prospects.campaign_id, before.campaign_prospects.prospect_id, strict=True
        )
    }
    keys_after = {
        (int(c), int(p))
        for c, p in zip(
            after.campaign_prospects.campaign_id, after.campaign_prospects.prospect_id, strict=True
        )
    }
    assert run.flagged == {
        "campaigns": 0,
        "prospects": 2,
        "campaign_prospects": len(keys - keys_after),
    }
    assert_matches_truth(loader)
    flagged = loader.table("campaigns", live_only=False).set_index("id").deleted_at
    assert flagged[campaign_id] is not None and flagged.drop(campaign_id).isna().all()


def test_reconciliation_by_schedule(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=500, campaigns=4)
    loader = Loader(sim, tmp_path, options={"reconcile_every_days": 0})
    loader.run(resources=MEMBERSHIPS)
    sim.account.delete_prospect(int(sim.truth().prospects.id.iloc[0]))
    run = loader.run(resources=MEMBERSHIPS)  # due every run with reconcile_every_days=0: full scans again
    assert run.flagged["prospects"] == 1
    assert run.stats.requests["prospects"] == 1  # one full page instead of four streams
