"""The marts built on other engines equal DuckDB's, row for row, from the same raw tables.

One simulated account is loaded by the source into DuckDB once (with webhook events derived from it, so
the event columns and their epoch-day arithmetic are exercised too). Its raw tables are copied into
ClickHouse (chdb, the ClickHouse engine embedded) and into Snowflake (fakesnow, the Snowflake emulator
behind the Snowflake connector), the marts are built there by `build_models` in that engine's dialect,
and every mart is compared with the one DuckDB built.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from simulator import Simulator, SimulatorConfig
from sources.woodpecker import woodpecker_source
from sources.woodpecker.reconcile import apply_reconciliation
from transforms import layout
from transforms.build import build_models

from .conftest import DATASET
from .engines import (
    ChdbExecutor,
    SnowflakeExecutor,
    copy_to_clickhouse,
    copy_to_snowflake,
    read_clickhouse,
    read_duckdb,
    read_snowflake,
)
from .marts_compare import KEYS, assert_same_rows

# Webhook events as the receiver spools them, derived from the loaded opens, clicks and memberships.
WEBHOOK_EVENTS = f"""
CREATE TABLE "{DATASET}".webhook_events AS
SELECT md5('o' || prospect_id || campaign_id || opened_at) AS event_id, 'email_opened' AS event,
    prospect_id, campaign_id, 1 AS step, opened_at AS occurred_at, NULL AS email, NULL AS url,
    opened_at + INTERVAL 1 MINUTE AS received_at
FROM "{DATASET}".prospect_opens
UNION ALL
SELECT md5('k' || prospect_id || campaign_id || url || clicked_at), 'link_clicked', prospect_id, campaign_id,
    2, clicked_at, NULL, url, clicked_at + INTERVAL 1 MINUTE
FROM "{DATASET}".prospect_clicks
UNION ALL
SELECT md5('s' || m.prospect_id || m.campaign_id), 'campaign_sent', m.prospect_id, m.campaign_id,
    1, p.last_contacted, p.email, NULL, p.last_contacted + INTERVAL 1 MINUTE
FROM "{DATASET}".campaign_prospects AS m JOIN "{DATASET}".prospects AS p ON p.id = m.prospect_id
WHERE m.sent_mails > 0 AND p.last_contacted IS NOT NULL
"""


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, duckdb.DuckDBPyConnection]]:
    """The raw tables of one simulated account in a DuckDB file, and DuckDB's marts built from them."""
    folder = tmp_path_factory.mktemp("engines")
    raw = folder / "raw.duckdb"
    with Simulator(SimulatorConfig(seed=5, prospects=150, campaigns=5)) as sim:
        pipeline = dlt.pipeline(
            pipeline_name="wp_engines",
            destination=dlt.destinations.duckdb(str(raw)),
            dataset_name=DATASET,
            pipelines_dir=str(folder / "pipelines"),
        )
        source = woodpecker_source(api_key=sim.api_key, base_url=sim.base_url, backoff_factor=0.0)
        pipeline.run(source).raise_on_failed_jobs()
        apply_reconciliation(pipeline)
    conn = duckdb.connect(str(raw))
    try:
        conn.execute(WEBHOOK_EVENTS)
        raw_copy = folder / "raw_copy.duckdb"  # the raw tables alone, for the other engines
        conn.execute(f"ATTACH '{raw_copy}' AS raw_copy")
        conn.execute(
            f'COPY FROM DATABASE "{conn.execute("SELECT current_database()").fetchone()[0]}" TO raw_copy'
        )
        conn.execute("DETACH raw_copy")
        report = build_models(conn, DATASET)
        assert report.rows_per_mart["campaign_prospect_engagement"] > 100
        assert report.rows_per_mart["campaign_daily_activity"] > 0
        events = (
            "SELECT SUM(event_sends), SUM(event_opens), SUM(event_clicks) "
            f'FROM "{DATASET}".campaign_daily_activity'
        )
        assert all(count > 0 for count in conn.execute(events).fetchone())  # the event columns are exercised
        yield raw_copy, conn
    finally:
        conn.close()


def _assert_same_as_duckdb(duck: duckdb.DuckDBPyConnection, read: Any) -> None:
    for mart in layout.MARTS:
        assert_same_rows(mart, read_duckdb(duck, DATASET, mart, KEYS[mart]), read(mart, KEYS[mart]))


def test_marts_on_clickhouse_equal_duckdb(
    account: tuple[Path, duckdb.DuckDBPyConnection], tmp_path: Path
) -> None:
    from chdb.session import Session

    raw_copy, duck = account
    session = Session()
    try:
        with duckdb.connect(str(raw_copy), read_only=True) as raw:
            copy_to_clickhouse(raw, session, DATASET, tmp_path)
        report = build_models(ChdbExecutor(session, DATASET), DATASET)
        assert report.dialect == "clickhouse"
        _assert_same_as_duckdb(duck, lambda mart, keys: read_clickhouse(session, DATASET, mart, keys))
    finally:
        session.close()


@pytest.mark.slow
def test_marts_on_snowflake_emulator_equal_duckdb(account: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    import fakesnow
    import snowflake.connector

    raw_copy, duck = account
    with fakesnow.patch(), snowflake.connector.connect(database="ANALYTICS") as conn:
        with duckdb.connect(str(raw_copy), read_only=True) as raw:
            copy_to_snowflake(raw, conn, DATASET)
        report = build_models(SnowflakeExecutor(conn, DATASET), DATASET)
        assert report.dialect == "snowflake"
        _assert_same_as_duckdb(duck, lambda mart, keys: read_snowflake(conn, DATASET, mart, keys))
