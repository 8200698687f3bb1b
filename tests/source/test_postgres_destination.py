"""The whole source into PostgreSQL (a real server): typed Arrow pages load there too, equal to the truth."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from simulator import Simulator

from .harness import Loader, assert_matches_truth


@pytest.mark.slow
def test_full_then_incremental_load_into_postgres_matches_the_truth(
    simulator: Simulator, postgres_dsn: str, tmp_path: Path
) -> None:
    loader = Loader(simulator, tmp_path, name="pg")
    # the test server trusts local connections; dlt insists on a password being present
    dsn = postgres_dsn.replace("postgres@", "postgres:trust@", 1)
    loader.pipeline = dlt.pipeline(
        pipeline_name="woodpecker_pg",
        destination=dlt.destinations.postgres(dsn),
        dataset_name="woodpecker",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    loader.run()
    assert_matches_truth(loader)
    simulator.account.edit_prospect(int(simulator.truth().prospects.id.iloc[0]), company="Edited Inc")
    simulator.account.simulate(6 * 3600)
    loader.run()
    assert_matches_truth(loader)
    with loader.pipeline.sql_client() as client:
        types = dict(
            client.execute_sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'woodpecker' AND table_name = 'prospects'"
            )
            or []
        )
    assert types["_unparsed"] == "json" and types["snippet_labels"] == "json"
    assert types["updated"] == "timestamp with time zone" and types["id"] == "bigint"
