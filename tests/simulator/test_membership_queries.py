"""Membership queries and campaign statistics against the account's own records, after changes.

The simulator answers `campaigns_id=`, `interested=` and `activity=` queries from its membership index
and keeps the memberships of each campaign between statistics requests; both must follow deletions and
enrolments at once. Each answer is compared over HTTP with what `Account.memberships_of` says.
"""

from __future__ import annotations

from typing import Any

from simulator import Simulator

from .test_api_contract import get
from .test_filters_and_writes import all_rows


def expected(sim: Simulator, campaigns: set[int] | None, interest: str | None) -> list[tuple[int, int]]:
    """(campaign id, prospect id) of every membership matching, in the API's default order (by id)."""
    account = sim.account
    pairs = [
        (camp.id, p.id)
        for p in account.prospects.values()
        for ms, camp in account.memberships_of(p.id)
        if (campaigns is None or camp.id in campaigns) and (interest is None or ms.interest == interest)
    ]
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def served(sim: Simulator, **params: Any) -> list[tuple[int, int]]:
    return [(row["campaign_id"], row["id"]) for row in all_rows(sim, **params)]


def members(sim: Simulator, campaign_id: int) -> int:
    body = get(sim, "/rest/v1/campaign_list", id=campaign_id).json()
    count: int = body[0]["stats"]["prospects"]
    return count


def check(sim: Simulator, campaigns: list[int]) -> None:
    """Every query shape over memberships, and each campaign's member count, against the account."""
    joined = ",".join(map(str, campaigns))
    assert served(sim, campaigns_id=joined) == expected(sim, set(campaigns), None)
    assert served(sim, campaigns_id=campaigns[0]) == expected(sim, {campaigns[0]}, None)
    assert served(sim, interested="NOT_MARKED") == expected(sim, None, "NOT_MARKED")
    assert served(sim, campaigns_id=joined, interested="NOT_MARKED") == expected(
        sim, set(campaigns), "NOT_MARKED"
    )
    opened = {
        (row["campaign_id"], row["id"]) for row in all_rows(sim, campaigns_id=joined, activity="OPENED")
    }
    account = sim.account
    assert opened == {
        (camp.id, p.id)
        for p in account.prospects.values()
        for ms, camp in account.memberships_of(p.id)
        if camp.id in campaigns and ms.last_open is not None
    }
    for cid in campaigns:
        assert members(sim, cid) == sum(1 for (_, c) in account.memberships if c == cid)


def test_membership_queries_follow_deletions_and_enrolments(simulator: Simulator) -> None:
    account = simulator.account
    campaigns = sorted(account.campaigns)
    check(simulator, campaigns)  # the indexes are built here …

    # … and must follow each change: a membership removed, a prospect deleted, a campaign deleted, an
    # enrolment.
    cid, pid = next((c, p) for (p, c) in account.memberships if c == campaigns[0])
    account.delete_prospect(pid, [cid])
    other = next(p for (p, c) in account.memberships if c == campaigns[1])
    account.delete_prospect(other)
    account.delete_campaign(campaigns[-1])
    newcomer = next(p for p in account.prospects if (p, campaigns[0]) not in account.memberships)
    account.enroll(newcomer, campaigns[0])
    check(simulator, campaigns[:-1])
    assert (campaigns[0], newcomer) in served(simulator, campaigns_id=campaigns[0])
    assert (cid, pid) not in served(simulator, campaigns_id=cid)
