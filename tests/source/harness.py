"""Run the source against a simulator into a DuckDB file, and compare every table with the truth."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import pandas as pd

from simulator import GroundTruth, Simulator
from sources.woodpecker import woodpecker_source
from sources.woodpecker.progress import RunStats
from sources.woodpecker.reconcile import apply_reconciliation
from sources.woodpecker_tables import TABLES

from .compare import assert_same, loaded

V2_FIELDS = ("timezone", "prospect_timezone", "daily_enroll", "list_unsubscribe")
# The tables the simulator's truth describes: every declared table but the optional ones (webhooks).
SOURCE_TABLES = tuple(table.name for table in TABLES if not table.optional)


@dataclass
class Run:
    """What one load did."""

    stats: RunStats
    requests: list[Any]
    flagged: dict[str, int]

    def count(self, path: str, **query: str) -> int:
        """Requests of this run to `path` whose query contains `query`."""
        return sum(
            1 for r in self.requests if r.path == path and all(r.query.get(k) == v for k, v in query.items())
        )


@dataclass
class Loader:
    """A pipeline with its own DuckDB file and pipelines dir, loading from one simulator."""

    sim: Simulator
    tmp_path: Path
    name: str = "wp"
    options: dict[str, Any] = field(default_factory=dict)
    pipeline: dlt.Pipeline = field(init=False)

    def __post_init__(self) -> None:
        self.pipeline = dlt.pipeline(
            pipeline_name=f"woodpecker_{self.name}",
            destination=dlt.destinations.duckdb(str(self.tmp_path / f"{self.name}.duckdb")),
            dataset_name="woodpecker",
            pipelines_dir=str(self.tmp_path / "pipelines"),
        )

    def source(self, **options: Any) -> Any:
        """A fresh source object for one run (fast retries unless overridden)."""
        stats = options.pop("run_stats", None) or RunStats()
        merged = {"backoff_factor": 0.0, **self.options, **options}
        return woodpecker_source(
            api_key=self.sim.api_key, base_url=self.sim.base_url, run_stats=stats, **merged
        )

    def run(self, resources: tuple[str, ...] = (), **options: Any) -> Run:
        """Load once (all resources, or only `resources`), then apply reconciliation."""
        stats = RunStats()
        before = len(self.sim.requests)
        source = self.source(run_stats=stats, **options)
        if resources:
            source = source.with_resources(*resources)
        info = self.pipeline.run(source)
        info.raise_on_failed_jobs()
        flagged = apply_reconciliation(self.pipeline)
        return Run(stats, list(self.sim.requests[before:]), flagged)

    def table(self, name: str, live_only: bool = True) -> pd.DataFrame:
        """A loaded table."""
        return loaded(self.pipeline, name, live_only)

    def resource_state(self, resource: str) -> dict[str, Any]:
        """The resource's state as last committed."""
        state = self.pipeline.state.get("sources", {}).get("woodpecker", {})
        return dict(state.get("resources", {}).get(resource, {}))


def _latest(frame: pd.DataFrame, key: list[str], order: str) -> pd.DataFrame:
    return frame.sort_values(order).groupby(key, as_index=False).tail(1)


def assert_matches_truth(
    loader: Loader,
    tables: tuple[str, ...] = SOURCE_TABLES,
    deleted_prospects: Iterable[int] = (),
    truth: GroundTruth | None = None,
) -> None:
    """Every loaded table equals the simulator's truth, key by key and column by column.

    `deleted_prospects` may still be loaded (deleted in Woodpecker after they were read, before a
    reconciliation); everything else must match exactly. `truth` defaults to the account as it is now.
    """
    truth = truth or loader.sim.truth()
    gone = set(deleted_prospects)
    # steps, versions and stats of a deleted campaign stay loaded; consumers join them to live campaigns
    history = {"campaign_steps", "campaign_step_versions", "campaign_stats"} & set(tables)
    live_campaigns = set(loader.table("campaigns").id) if history else set()

    def of_live_campaigns(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame.campaign_id.isin(live_campaigns)]

    if "prospects" in tables:
        compared = assert_same(
            loader.table("prospects"), truth.prospects, ["id"], allow_extra=[(i,) for i in gone]
        )
        assert {"email", "updated", "last_replied", "snippet_labels", "status"} <= set(compared)
    if "campaigns" in tables:
        campaigns = loader.table("campaigns")
        campaigns["details_available"] = campaigns["details_status"] == "OK"
        compared = assert_same(campaigns, truth.campaigns, ["id"], skip=V2_FIELDS)
        assert {"name", "created", "details_available", "folder_id"} <= set(compared)
        # v2 settings can only be loaded where the v2 read succeeds
        readable = truth.campaigns[truth.campaigns["details_available"]]
        compared = assert_same(campaigns[campaigns["details_available"]], readable, ["id"], columns=V2_FIELDS)
        assert set(compared) == set(V2_FIELDS)
        unavailable = campaigns[campaigns["details_status"] != "OK"]
        assert set(unavailable["details_status"]) <= {"UNSUPPORTED", "NOT_FOUND"}
        assert unavailable["details_error"].notna().all()
    if "campaign_steps" in tables:
        steps = of_live_campaigns(loader.table("campaign_steps"))
        assert_same(steps, truth.campaign_steps, ["campaign_id", "step_id"])
    if "campaign_step_versions" in tables:
        assert_same(
            of_live_campaigns(loader.table("campaign_step_versions")),
            truth.campaign_step_versions,
            ["campaign_id", "step_id", "version_id"],
        )
    if "campaign_prospects" in tables:
        members = loader.table("campaign_prospects")
        compared = assert_same(
            members,
            truth.campaign_prospects,
            ["campaign_id", "prospect_id"],
            allow_extra=[
                (c, p) for c, p in zip(members.campaign_id, members.prospect_id, strict=True) if p in gone
            ],
        )
        assert {"status", "sent_mails", "interested", "campaign_email"} <= set(compared)
    # open/click history of deleted memberships stays loaded; consumers join it to live memberships
    members_now = (
        loader.table("campaign_prospects")
        if {"prospect_opens", "prospect_clicks"} & set(tables)
        else pd.DataFrame({"campaign_id": [], "prospect_id": []})
    )
    live_pairs = {
        (int(c), int(p))
        for c, p in zip(members_now.campaign_id, members_now.prospect_id, strict=True)
        if p not in gone
    }

    def live(frame: pd.DataFrame) -> pd.DataFrame:
        pairs = [
            (int(c), int(p)) in live_pairs for c, p in zip(frame.campaign_id, frame.prospect_id, strict=True)
        ]
        return frame[pairs]

    if "prospect_opens" in tables:
        opens = live(loader.table("prospect_opens"))
        opens = _latest(opens, ["prospect_id", "campaign_id"], "opened_at")
        assert_same(opens, truth.opens, ["prospect_id", "campaign_id"], rename={"last_open": "opened_at"})
    if "prospect_clicks" in tables:
        clicks = _latest(
            live(loader.table("prospect_clicks")), ["prospect_id", "campaign_id", "url"], "clicked_at"
        )
        assert_same(
            clicks, truth.clicks, ["prospect_id", "campaign_id", "url"], rename={"last_clicked": "clicked_at"}
        )
    if "campaign_stats" in tables:
        stats = _latest(of_live_campaigns(loader.table("campaign_stats")), ["campaign_id"], "captured_at")
        compared = assert_same(stats, truth.campaign_stats, ["campaign_id"], rename={"check": "to_check"})
        assert {"sent", "opened", "replied", "bounced", "to_check"} <= set(compared)
