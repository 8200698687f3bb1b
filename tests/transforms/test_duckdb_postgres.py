"""The same account loaded by the source into DuckDB and into PostgreSQL gives identical marts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import duckdb
import psycopg2
import pytest

from simulator import Simulator, SimulatorConfig
from sources.woodpecker import woodpecker_source
from sources.woodpecker.reconcile import apply_reconciliation
from transforms.build import build_models

from .conftest import DATASET
from .marts_compare import assert_same_marts


def _load(sim: Simulator, destination: Any, folder: Path, name: str) -> dlt.Pipeline:
    pipeline = dlt.pipeline(
        pipeline_name=name, destination=destination, dataset_name=DATASET, pipelines_dir=str(folder / name)
    )
    source = woodpecker_source(api_key=sim.api_key, base_url=sim.base_url, backoff_factor=0.0)
    pipeline.run(source).raise_on_failed_jobs()
    apply_reconciliation(pipeline)
    return pipeline


def test_marts_are_identical_on_duckdb_and_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    with Simulator(SimulatorConfig(seed=5, prospects=250, campaigns=7)) as sim:
        on_duck = _load(sim, dlt.destinations.duckdb(str(tmp_path / "d.duckdb")), tmp_path, "wp_duck")
        on_pg = _load(sim, dlt.destinations.postgres(postgres_dsn), tmp_path, "wp_pg")
    duck_report, pg_report = build_models(on_duck), build_models(on_pg)
    assert (duck_report.dialect, pg_report.dialect) == ("duckdb", "postgres")
    assert duck_report.rows_per_mart == pg_report.rows_per_mart
    assert duck_report.rows_per_mart["campaign_prospect_engagement"] > 300
    duck = duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True)
    pg = psycopg2.connect(postgres_dsn)
    try:
        assert_same_marts(duck, pg, DATASET)
    finally:
        duck.close()
        pg.close()


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_loaded_schema_needs_no_missing_column_fallbacks(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The source's tables carry every column the contract reads, except documented absences."""
    with Simulator(SimulatorConfig(seed=3, prospects=40, campaigns=3)) as sim:
        if dialect == "duckdb":
            destination = dlt.destinations.duckdb(str(tmp_path / "s.duckdb"))
        else:
            destination = dlt.destinations.postgres(request.getfixturevalue("postgres_dsn"))
        pipeline = _load(sim, destination, tmp_path, f"wp_schema_{dialect}")
    report = build_models(pipeline)
    assert report.missing_tables == []
    # the source tracks deletes only on the reconciled tables; the others have no deleted_at
    absent = {table: set(cols) for table, cols in report.missing_columns.items()}
    assert absent == {
        t: {"deleted_at"}
        for t in ("campaign_steps", "campaign_step_versions", "prospect_opens", "prospect_clicks")
    }
