"""The Dagster definitions, materialised in-process against the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
import pandas as pd

from orchestration import woodpecker_definitions
from orchestration.assets import attached, mart_key
from orchestration.dagster_defaults import DAILY_CRON, JOB_NAME
from simulator import Simulator
from sources.woodpecker import woodpecker_source
from sources.woodpecker_tables import TABLES
from tests.source.harness import Loader, assert_matches_truth
from transforms.layout import MARTS

# The source's resources without a spool: the writers of every declared table but the optional ones.
RESOURCES = {table.resource_name for table in TABLES if not table.optional}
EXACT = ("enrolled", "contacted", "emails_sent", "unique_opened", "unique_clicked", "replied", "bounced")


def test_materialised_assets_hold_the_truth(make_simulator: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_simulator(seed=21, prospects=300, campaigns=5)
    loader = Loader(sim, tmp_path, name="dagster")  # its pipeline: a DuckDB file in tmp_path

    def definitions(**options: Any) -> dg.Definitions:
        return woodpecker_definitions(
            source_factory=lambda: woodpecker_source(
                api_key=sim.api_key, base_url=sim.base_url, backoff_factor=0.0
            ),
            pipeline=loader.pipeline,
            duckdb_path=str(tmp_path / "unused.duckdb"),
            **options,
        )

    defs = definitions()
    graph = defs.resolve_asset_graph()
    load_keys = {k for k in graph.get_all_asset_keys() if k.path[0].startswith("dlt_")}
    assert {k.path[0] for k in load_keys} == {f"dlt_woodpecker_{r}" for r in RESOURCES}
    for mart in MARTS:
        assert load_keys <= graph.get(mart_key(mart)).parent_keys, f"{mart} runs after every load asset"

    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(instance=instance)
    assert result.success
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialised == load_keys | {mart_key(m) for m in MARTS}
    loader.pipeline = attached(loader.pipeline)
    assert_matches_truth(loader)

    with (
        loader.pipeline.sql_client() as client,
        client.execute_query("SELECT * FROM woodpecker.campaign_performance") as cur,
    ):
        mine = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
    mine = mine.set_index("campaign_id").sort_index()
    truth = sim.truth().campaign_engagement.set_index("campaign_id").sort_index()
    assert list(mine.index) == list(truth.index) and truth["emails_sent"].sum() > 0
    for column in EXACT:
        assert mine[column].tolist() == truth[column].tolist(), column
    rows = result.asset_materializations_for_node("woodpecker_marts")
    by_key = {m.asset_key: m.metadata["rows"].value for m in rows}
    assert by_key[mart_key("campaign_performance")] == len(mine)

    # the marts were just built: their freshness checks pass; with a one-second limit, a moment later, not
    assert _freshness(defs, instance) == dict.fromkeys(MARTS, True)
    time.sleep(1.5)
    assert _freshness(definitions(max_staleness=timedelta(seconds=1)), instance) == dict.fromkeys(
        MARTS, False
    )


def _freshness(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict[str, bool]:
    """Evaluate the freshness checks of `defs` on `instance`: mart → passed."""
    checks = defs.resolve_asset_graph().asset_check_keys
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],  # type: ignore[list-item]
        instance=instance,
        selection=dg.AssetSelection.checks(*checks),
        resources=defs.resources,
    )
    return {e.asset_key.path[-1]: e.passed for e in result.get_asset_check_evaluations()}


def test_schedule_and_sensor_are_defined() -> None:
    pipeline = dlt.pipeline("woodpecker_defs", destination="duckdb", dataset_name="woodpecker")
    defs = woodpecker_definitions(
        source_factory=lambda: woodpecker_source(api_key="k", base_url="http://127.0.0.1:9"),
        pipeline=pipeline,
    )
    (schedule,) = defs.schedules or []
    assert isinstance(schedule, dg.ScheduleDefinition)
    assert schedule.cron_schedule == DAILY_CRON and schedule.job_name == JOB_NAME
    (sensor,) = defs.sensors or []
    assert sensor.name == "freshness_checks_sensor"
