"""Several accounts into a real PostgreSQL server: shared tables with `account_id`, marts per account."""

from __future__ import annotations

import dlt
import pytest

from pipelines.exit_codes import ExitCode
from tests.source.harness import assert_matches_truth
from tests.transforms.conftest import postgres_dsn, postgres_server

from .conftest import AccountLoader, Fleet

__all__ = ["postgres_dsn", "postgres_server"]


@pytest.mark.slow
def test_column_layout_into_postgres_equals_each_truth(
    fleet: Fleet, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_dsn)
    args = ("--accounts", "acme,globex", "--destination", "postgres", "--account-layout", "column")
    assert fleet.load(*args) == ExitCode.OK
    for name in ("acme", "globex"):
        loader = AccountLoader(fleet.sims[name], fleet.workdir / "harness", name=name)
        loader.account, loader.shared = name, True
        loader.pipeline = dlt.pipeline(
            pipeline_name=f"woodpecker_{name}",
            destination="postgres",
            dataset_name="woodpecker",
            pipelines_dir=str(fleet.workdir / "pipelines"),
        )
        assert_matches_truth(loader)
    with loader.pipeline.sql_client() as client:
        union = dict(
            client.execute_sql(
                "SELECT account_id, COUNT(*) FROM woodpecker_all.campaign_performance GROUP BY account_id"
            )
            or []
        )
        own = {
            name: client.execute_sql(f"SELECT COUNT(*) FROM woodpecker_{name}.campaign_performance")[0][0]
            for name in ("acme", "globex")
        }
    assert union == own == {n: len(fleet.sims[n].truth().campaigns) for n in ("acme", "globex")}
