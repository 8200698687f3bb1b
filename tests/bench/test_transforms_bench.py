"""The rebuild benchmark's data generator and options, at a size that runs in seconds."""

from __future__ import annotations

import duckdb
import pytest

from bench import transforms_bench
from bench.transforms_bench import DATASET, generate


def _campaigns_per_prospect(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    rows = con.execute(
        f"SELECT n, COUNT(*) FROM (SELECT prospect_id, COUNT(DISTINCT campaign_id) AS n "
        f"FROM {DATASET}.campaign_prospects GROUP BY prospect_id) GROUP BY n"
    ).fetchall()
    return {int(n): int(count) for n, count in rows}


def test_default_data_puts_every_prospect_in_three_campaigns() -> None:
    con = duckdb.connect()
    counts = generate(con, prospects=1_000, memberships=3_000, campaigns=50)
    assert counts["campaign_prospects"] == 3_000
    assert _campaigns_per_prospect(con) == {3: 1_000}


def test_single_campaign_share_enrols_that_share_in_exactly_one_campaign() -> None:
    con = duckdb.connect()
    generate(con, prospects=1_000, memberships=3_000, campaigns=50, single_share=0.5)
    # 500 prospects in one campaign; the other 500 share the remaining 2,500 memberships: five each
    assert _campaigns_per_prospect(con) == {1: 500, 5: 500}
    duplicates = con.execute(
        f"SELECT COUNT(*) FROM (SELECT campaign_id, prospect_id FROM {DATASET}.campaign_prospects "
        "GROUP BY ALL HAVING COUNT(*) > 1)"
    ).fetchone()
    assert duplicates == (0,)


@pytest.mark.parametrize(
    "args",
    [
        ["--single-campaign-share", "1"],
        ["--single-campaign-share", "-0.1"],
        ["--prospects", "100", "--memberships", "50"],
    ],
)
def test_sizes_that_cannot_be_generated_are_a_usage_error(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        transforms_bench.main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--single-campaign-share must be at least 0 and below 1" in err
    assert "Traceback" not in err
