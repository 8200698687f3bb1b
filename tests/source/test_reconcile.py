"""`apply_reconciliation` on DuckDB and PostgreSQL with hand-made loads and recorded full scans."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest

from sources.woodpecker.reconcile import apply_reconciliation
from sources.woodpecker.schema import column_hints
from sources.woodpecker_tables import CAMPAIGN_PROSPECTS, PROSPECTS

T1 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


def fake_woodpecker(
    prospect_ids: list[int],
    memberships: list[tuple[int, int]],
    scan: tuple[datetime, bool] | None,
    at: datetime,
) -> Any:
    """A source named like the real one: rows fetched at `at`, and optionally a recorded full scan."""

    @dlt.source(name="woodpecker", root_key=True)
    def woodpecker() -> Any:
        @dlt.resource(
            name="prospects", primary_key="id", write_disposition="merge", columns=column_hints(PROSPECTS)
        )
        def prospects() -> Iterator[list[dict[str, Any]]]:
            if scan is not None:
                records = dlt.current.source_state().setdefault("reconcile", {})
                for table in ("prospects", "campaign_prospects"):
                    records[table] = {"started_at": scan[0].isoformat(), "consistent": scan[1]}
            yield [{"id": i, "email": f"p{i}@example.com", "_fetched_at": at} for i in prospect_ids]

        @dlt.resource(
            name="campaign_prospects",
            primary_key=("campaign_id", "prospect_id"),
            write_disposition="merge",
            columns=column_hints(CAMPAIGN_PROSPECTS),
        )
        def campaign_prospects() -> Iterator[list[dict[str, Any]]]:
            yield [{"campaign_id": c, "prospect_id": p, "_fetched_at": at} for c, p in memberships]

        return prospects, campaign_prospects

    return woodpecker()


@pytest.fixture(params=["duckdb", "postgres"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> dlt.Pipeline:
    if request.param == "duckdb":
        destination: Any = dlt.destinations.duckdb(str(tmp_path / "wp.duckdb"))
    else:
        # the test server trusts local connections; dlt insists on a password being present
        dsn = request.getfixturevalue("postgres_dsn").replace("postgres@", "postgres:trust@", 1)
        destination = dlt.destinations.postgres(dsn)
    return dlt.pipeline(
        "reconcile_test",
        destination=destination,
        dataset_name="woodpecker",
        pipelines_dir=str(tmp_path / "p"),
    )


def _deleted(pipeline: dlt.Pipeline, table: str, key: str) -> dict[Any, datetime | None]:
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        rows = client.execute_sql(f"SELECT {key}, deleted_at FROM {name}")
    return {row[0]: (row[1].astimezone(UTC) if row[1] is not None else None) for row in rows or []}


def test_flags_only_what_a_consistent_scan_did_not_see(pipeline: dlt.Pipeline) -> None:
    t2, t3, t4 = T1 + timedelta(days=1), T1 + timedelta(days=2), T1 + timedelta(days=3)
    all_members = [(10, 1), (10, 2), (11, 3)]
    pipeline.run(fake_woodpecker([1, 2, 3, 4, 5], all_members, (T1, True), T1 + timedelta(seconds=5)))
    assert apply_reconciliation(pipeline) == {"campaign_prospects": 0, "prospects": 0}

    # full scan at t2 sees prospects 1, 2, 4 and memberships (10, 1), (10, 2)
    pipeline.run(fake_woodpecker([1, 2, 4], [(10, 1), (10, 2)], (t2, True), t2 + timedelta(seconds=5)))
    assert apply_reconciliation(pipeline) == {"campaign_prospects": 1, "prospects": 2}
    assert _deleted(pipeline, "prospects", "id") == {1: None, 2: None, 3: t2, 4: None, 5: t2}
    members = {(c, p): d for (c, p), d in _memberships(pipeline).items()}
    assert members == {(10, 1): None, (10, 2): None, (11, 3): t2}

    # idempotent: nothing new when applied again
    assert apply_reconciliation(pipeline) == {"campaign_prospects": 0, "prospects": 0}

    # an inconsistent scan at t3 that saw only prospect 1 flags nothing
    pipeline.run(fake_woodpecker([1], [], (t3, False), t3 + timedelta(seconds=5)))
    assert apply_reconciliation(pipeline) == {"campaign_prospects": 0, "prospects": 0}
    assert _deleted(pipeline, "prospects", "id") == {1: None, 2: None, 3: t2, 4: None, 5: t2}

    # prospect 3 reappears in an incremental load: live again
    pipeline.run(fake_woodpecker([3], [], None, t4))
    assert _deleted(pipeline, "prospects", "id")[3] is None


def _memberships(pipeline: dlt.Pipeline) -> dict[tuple[int, int], datetime | None]:
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name("campaign_prospects")
        rows = client.execute_sql(f"SELECT campaign_id, prospect_id, deleted_at FROM {name}")
    return {(r[0], r[1]): (r[2].astimezone(UTC) if r[2] is not None else None) for r in rows or []}


def test_nothing_to_do_without_recorded_scans(tmp_path: Path) -> None:
    pipeline = dlt.pipeline(
        "reconcile_empty",
        destination=dlt.destinations.duckdb(str(tmp_path / "e.duckdb")),
        dataset_name="woodpecker",
        pipelines_dir=str(tmp_path / "p"),
    )
    assert apply_reconciliation(pipeline) == {}
    pipeline.run(fake_woodpecker([1], [], None, T1))
    assert apply_reconciliation(pipeline) == {}
