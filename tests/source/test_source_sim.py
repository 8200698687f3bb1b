"""The source over real HTTP against the simulator: loads equal the truth, with the documented requests."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator import Simulator

from .harness import Loader, assert_matches_truth

PROSPECTS = "/rest/v1/prospects"
CAMPAIGN_LIST = "/rest/v1/campaign_list"
NO_CHANGE_REQUESTS = 11  # docs/source.md, "Request budget"

MakeSim = Callable[..., Simulator]


def test_full_load_equals_truth_with_ceil_n_over_per_page_requests(make_simulator: MakeSim, tmp_path: Path) -> None:
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


@pytest.mark.parametrize("per_page", [100, 250])
def test_full_scan_request_count_with_small_pages(make_simulator: MakeSim, tmp_path: Path, per_page: int) -> None:
    sim = make_simulator(prospects=950, campaigns=4)
    truth = sim.truth()
    loader = Loader(sim, tmp_path, options={"per_page": per_page})
    run = loader.run()
    assert run.stats.requests["prospects"] == math.ceil(len(truth.prospects) / per_page)
    assert run.stats.requests["campaign_prospects"] == math.ceil(len(truth.campaign_prospects) / per_page)
    pages = sorted(int(r.query["page"]) for r in run.requests if r.path == PROSPECTS and "campaigns_id" not in r.query)
    assert pages == list(range(1, math.ceil(len(truth.prospects) / per_page) + 1))  # no trailing empty page
    assert_matches_truth(loader)


def test_second_run_without_changes(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=1500, campaigns=8)
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
