"""Simulator → source → DuckDB → marts, compared with the simulator's ground truth.

The truth is computed by the simulator from its own event log (`Simulator.truth()`), independently of
the connector and of these models. Every count the API data can determine must match it exactly; the
documented approximations (autoreplies hidden behind a later terminal status, "last activity" daily
figures) are checked as bounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pandas as pd
import pytest

from simulator import Simulator, SimulatorConfig
from simulator.truth import ENGAGEMENT_COLUMNS
from sources.woodpecker import woodpecker_source
from sources.woodpecker.reconcile import apply_reconciliation
from transforms.build import BuildReport, build_models

from .conftest import DATASET

# Every engagement column of the truth equals the mart's, but `autoreplied`: the mart sees an autoreply
# only while no terminal status hides it (a bound, checked in `_assert_campaigns_match_truth`).
EXACT = tuple(column for column in ENGAGEMENT_COLUMNS if column != "autoreplied")


@dataclass
class Loaded:
    """One account loaded and transformed, with the truth taken at the same moment."""

    sim: Simulator
    pipeline: dlt.Pipeline
    report: BuildReport
    truth: Any

    def mart(self, name: str) -> pd.DataFrame:
        with (
            self.pipeline.sql_client() as client,
            client.execute_query(f"SELECT * FROM {DATASET}.{name}") as cur,
        ):
            columns = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)


def _load(sim: Simulator, pipeline: dlt.Pipeline, **options: Any) -> BuildReport:
    source = woodpecker_source(api_key=sim.api_key, base_url=sim.base_url, backoff_factor=0.0, **options)
    pipeline.run(source).raise_on_failed_jobs()
    apply_reconciliation(pipeline)
    return build_models(pipeline)


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Simulator, dlt.Pipeline]]:
    folder: Path = tmp_path_factory.mktemp("e2e")
    with Simulator(SimulatorConfig(seed=11, prospects=400, campaigns=8)) as sim:
        pipeline = dlt.pipeline(
            pipeline_name="woodpecker_e2e",
            destination=dlt.destinations.duckdb(str(folder / "e2e.duckdb")),
            dataset_name=DATASET,
            pipelines_dir=str(folder / "pipelines"),
        )
        yield sim, pipeline


@pytest.fixture(scope="module")
def first(account: tuple[Simulator, dlt.Pipeline]) -> Loaded:
    sim, pipeline = account
    report = _load(sim, pipeline)
    return Loaded(sim, pipeline, report, sim.truth())


@pytest.fixture(scope="module")
def second(first: Loaded) -> Loaded:
    """Three more days of activity plus edits a user makes, then an incremental load with reconciliation."""
    sim, pipeline = first.sim, first.pipeline
    account = sim.account
    sim.account.simulate(3 * 86_400)
    members = first.truth.campaign_prospects
    contacted = members[members["sent_mails"] > 0].sort_values(["campaign_id", "prospect_id"])
    pid, cid = (int(v) for v in contacted.iloc[0][["prospect_id", "campaign_id"]])
    account.set_interest(pid, cid, "MAYBE_LATER")
    active = contacted[contacted["status"] == "ACTIVE"].iloc[0]
    account.record_reply(int(active["prospect_id"]), int(active["campaign_id"]))
    account.delete_prospect(int(contacted.iloc[-1]["prospect_id"]))
    running = first.truth.campaigns.sort_values("id")["id"].tolist()
    account.delete_campaign(int(running[0]))
    report = _load(sim, pipeline, reconcile=True)
    return Loaded(sim, pipeline, report, sim.truth())


def _assert_campaigns_match_truth(loaded: Loaded) -> None:
    mine = loaded.mart("campaign_performance").set_index("campaign_id").sort_index()
    truth = loaded.truth.campaign_engagement.set_index("campaign_id").sort_index()
    assert list(mine.index) == list(truth.index)
    assert (
        (truth["enrolled"] > 0).sum() >= 6 and truth["replied"].sum() > 0 and truth["unique_opened"].sum() > 0
    )
    for column in EXACT:
        assert mine[column].tolist() == truth[column].tolist(), column
    # an autoreply is visible only while no terminal status (replied, bounced, …) hides it
    assert (mine["autoreplied"] <= truth["autoreplied"]).all()
    assert mine["autoreplied"].sum() > 0


def test_campaign_counts_equal_the_truth(first: Loaded) -> None:
    _assert_campaigns_match_truth(first)


def test_reported_statistics_are_the_latest_snapshot(first: Loaded) -> None:
    mine = first.mart("campaign_performance").set_index("campaign_id").sort_index()
    vendor = first.truth.campaign_stats.set_index("campaign_id").sort_index()
    assert mine["reported_prospects"].tolist() == vendor["prospects"].tolist()
    assert mine["reported_sent"].tolist() == vendor["sent"].tolist()
    assert mine["reported_autoreplied"].tolist() == vendor["autoreplied"].tolist()
    assert (mine["delta_emails_sent"] == mine["reported_sent"] - mine["emails_sent"]).all()
    assert (mine["delta_autoreplied"] >= 0).all()  # the vendor sees the autoreplies the API list hides


def test_rates_use_unique_counts_and_stay_within_bounds(first: Loaded) -> None:
    mine = first.mart("campaign_performance")
    reached = mine["contacted"] - mine["bounced"]
    expected = (mine["replied"] / reached).where(reached > 0)
    pd.testing.assert_series_equal(mine["reply_rate"], expected, check_names=False)
    for rate in (
        "contact_rate",
        "bounce_rate",
        "open_rate",
        "click_rate",
        "reply_rate",
        "positive_reply_rate",
    ):
        values = mine[rate].dropna()
        assert ((values >= 0) & (values <= 1)).all(), rate
    assert mine.loc[mine["contacted"] == 0, "reply_rate"].isna().all()


def test_memberships_match_the_truth_pair_by_pair(first: Loaded) -> None:
    pairs = first.mart("campaign_prospect_engagement").set_index(["campaign_id", "prospect_id"]).sort_index()
    truth = first.truth.campaign_prospects.set_index(["campaign_id", "prospect_id"]).sort_index()
    assert list(pairs.index) == list(truth.index)
    assert pairs["sends"].tolist() == truth["sent_mails"].tolist()
    assert pairs["interest"].tolist() == truth["interested"].tolist()
    assert pairs["status"].tolist() == truth["status"].str.replace("-", "_").tolist()
    opened = set(first.truth.opens.set_index(["campaign_id", "prospect_id"]).index)
    assert set(pairs.index[pairs["was_opened"]]) == opened
    clicked = set(first.truth.clicks.set_index(["campaign_id", "prospect_id"]).index)
    assert set(pairs.index[pairs["was_clicked"]]) == clicked


def test_prospect_rollup_matches_the_truth(first: Loaded) -> None:
    prospects = first.mart("prospect_engagement").set_index("prospect_id").sort_index()
    truth = first.truth.prospects.set_index("id").sort_index()
    assert list(prospects.index) == list(truth.index)
    members = first.truth.campaign_prospects.groupby("prospect_id")
    enrolled = members.size().reindex(truth.index, fill_value=0)
    assert prospects["campaigns_enrolled"].tolist() == enrolled.tolist()
    sent = members["sent_mails"].sum().reindex(truth.index, fill_value=0)
    assert prospects["emails_sent"].tolist() == sent.tolist()
    stage = prospects["lifecycle_stage"]
    assert set(stage) <= {"new", "contacted", "engaged", "replied", "interested", "bounced", "invalid",
                          "opted_out", "blacklisted"}  # fmt: skip
    assert (stage[truth["status"] == "BOUNCED"] == "bounced").all()
    assert (
        prospects.loc[stage.isin(["bounced", "invalid", "opted_out", "blacklisted"]), "engagement_score"] == 0
    ).all()


def test_step_metrics_equal_the_truth_per_step(first: Loaded) -> None:
    steps = first.mart("step_version_performance")
    per_step = steps.drop_duplicates(["campaign_id", "step_number"]).set_index(["campaign_id", "step_number"])
    truth = first.truth.step_engagement.groupby(["campaign_id", "step_number"])[["sends", "replies"]].sum()
    truth = truth[truth.index.get_level_values(0).isin(per_step.index.get_level_values(0))]
    assert len(truth) >= 3
    joined = per_step.join(truth, how="left").fillna({"sends": 0, "replies": 0})
    # every step email goes once to a membership, and a sequence stops at the reply
    assert joined["step_prospects_reached"].tolist() == joined["sends"].astype(int).tolist()
    assert joined["step_replied_after"].tolist() == joined["replies"].astype(int).tolist()


def test_daily_activity_never_exceeds_the_event_log(first: Loaded) -> None:
    daily = first.mart("campaign_daily_activity")
    daily["day"] = pd.to_datetime(daily["activity_date"]).dt.date
    truth = first.truth.campaign_daily.set_index(["campaign_id", "day"])
    joined = daily.set_index(["campaign_id", "day"]).join(truth, how="left").fillna(0)
    # distinct prospects whose last observed activity fell on the day ≤ events of that day
    for mine, events in (("contacts", "contacted"), ("opens", "opened"), ("clicks", "clicked")):
        assert (joined[mine] <= joined[events]).all(), mine
        assert joined[mine].sum() > 0, mine
    totals = first.truth.campaign_daily.groupby("campaign_id")[["replied", "bounced"]].sum()
    mine_totals = daily.groupby("campaign_id")[["replies", "bounces"]].sum()
    assert (mine_totals["replies"] <= totals["replied"].reindex(mine_totals.index, fill_value=0)).all()
    assert (mine_totals["bounces"] <= totals["bounced"].reindex(mine_totals.index, fill_value=0)).all()


def test_incremental_reload_after_edits_and_deletes_still_matches(first: Loaded, second: Loaded) -> None:
    before = first.truth.campaign_engagement
    after = second.truth.campaign_engagement
    assert len(after) == len(before) - 1  # the deleted campaign
    assert len(second.truth.events) > len(first.truth.events)  # sends, opens, replies … happened meanwhile
    assert len(second.truth.campaign_prospects) < len(first.truth.campaign_prospects)  # deletes
    _assert_campaigns_match_truth(second)
    pairs = second.mart("campaign_prospect_engagement")
    truth = second.truth.campaign_prospects
    assert len(pairs) == len(truth)
    assert second.report.rows_per_mart["campaign_performance"] == len(second.truth.campaign_engagement)
