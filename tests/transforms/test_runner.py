"""The runner: atomic publishing, idempotence, partial inputs, and the connections it accepts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from transforms import layout
from transforms.build import BuildError, build_models
from transforms.catalog import Model, load_models
from transforms.connection import DuckDBExecutor

from . import scenario
from .conftest import DATASET
from .raw import by_key, read_table, ts, write_tables


def _objects(conn: Any) -> dict[str, str]:
    sql = (
        "SELECT table_name, table_type FROM information_schema.tables "
        f"WHERE table_schema = '{DATASET}' ORDER BY table_name"
    )
    if type(conn).__module__.startswith(("duckdb", "_duckdb")):
        rows = conn.execute(sql).fetchall()
    else:
        with conn.cursor() as cur:
            cur.execute(sql)
            rows = cur.fetchall()
    return {name: kind for name, kind in rows}


def _temporary_tables(conn: Any) -> list[str]:
    """Temporary tables left on a DuckDB connection (the build caches view models in them)."""
    if not type(conn).__module__.startswith(("duckdb", "_duckdb")):
        return []
    return [r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]


def _marts(conn: Any) -> dict[str, list[dict[str, Any]]]:
    return {m: read_table(conn, DATASET, m) for m in layout.MARTS}


def _broken_model() -> Model:
    return Model(
        name="zz_broken",
        layer="marts",
        materialized="table",
        sql="SELECT * FROM {{ ref('campaign_performance') }} JOIN no_such_table USING (campaign_id)",
        refs=("campaign_performance",),
        sources=(),
    )


def _add_member(conn: Any) -> None:
    """Enrol prospect 19 in campaign 1 and make it reply, changing several marts."""
    extra = scenario.raw_tables()
    extra["campaign_prospects"].append(
        {"campaign_id": 1, "prospect_id": 19, "status": "REPLIED", "interested": None, "sent_mails": 1}
    )
    write_tables(conn, DATASET, {"campaign_prospects": extra["campaign_prospects"]})


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_failed_model_leaves_published_marts_intact(backend: str, request: pytest.FixtureRequest) -> None:
    conn = request.getfixturevalue("duck" if backend == "duckdb" else "pg_conn")
    write_tables(conn, DATASET, scenario.raw_tables())
    build_models(conn, DATASET)
    before, objects_before = _marts(conn), _objects(conn)
    _add_member(conn)  # a successful rebuild would now change campaign 1
    with pytest.raises(BuildError) as failure:
        build_models(conn, DATASET, models=[*load_models(), _broken_model()])
    assert failure.value.model == "zz_broken"
    assert _temporary_tables(conn) == []
    assert _marts(conn) == before
    assert _objects(conn) == objects_before  # no __build leftovers, nothing half-published
    report = build_models(conn, DATASET)  # and the next good build publishes the change
    assert by_key(read_table(conn, DATASET, "campaign_performance"), "campaign_id")[1]["enrolled"] == 5
    assert report.rows_per_mart["campaign_prospect_engagement"] == 9


class _FailingSwap(DuckDBExecutor):
    """Fails on the rename of one table inside the publishing transaction."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, fail_on: str) -> None:
        super().__init__(conn, DATASET)
        self.fail_on = fail_on
        self.in_transaction = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.in_transaction = True
        try:
            with super().transaction():
                yield
        finally:
            self.in_transaction = False

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        if self.in_transaction and sql.startswith("ALTER TABLE") and f'"{self.fail_on}__build"' in sql:
            raise RuntimeError("simulated failure while publishing")
        return super().execute(sql)


def test_failure_inside_the_swap_rolls_back_every_object(duck: duckdb.DuckDBPyConnection) -> None:
    write_tables(duck, DATASET, scenario.raw_tables())
    build_models(duck, DATASET)
    before, objects_before = _marts(duck), _objects(duck)
    _add_member(duck)
    # the last mart in build order: every other object has already been dropped and renamed
    last = [m.name for m in load_models()][-1]
    with pytest.raises(BuildError, match="publishing"):
        build_models(_FailingSwap(duck, last))
    assert _marts(duck) == before
    assert _objects(duck) == objects_before


def test_postgres_swap_blocked_by_a_dependent_view_changes_nothing(pg_conn: Any) -> None:
    write_tables(pg_conn, DATASET, scenario.raw_tables())
    build_models(pg_conn, DATASET)
    with pg_conn.cursor() as cur:
        cur.execute(f'CREATE VIEW public.user_report AS SELECT * FROM "{DATASET}".campaign_performance')
    before = _marts(pg_conn)
    _add_member(pg_conn)
    with pytest.raises(BuildError, match="publishing"):
        build_models(pg_conn, DATASET)
    assert _marts(pg_conn) == before
    assert not any(name.endswith(layout.BUILD_SUFFIX) for name in _objects(pg_conn))


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_building_twice_gives_the_same_result(backend: str, request: pytest.FixtureRequest) -> None:
    conn = request.getfixturevalue("duck" if backend == "duckdb" else "pg_conn")
    write_tables(conn, DATASET, scenario.raw_tables())
    first = build_models(conn, DATASET)
    marts, objects = _marts(conn), _objects(conn)
    second = build_models(conn, DATASET)
    assert _temporary_tables(conn) == []
    assert _marts(conn) == marts
    assert _objects(conn) == objects
    assert first.rows_per_mart == second.rows_per_mart
    assert first.models == second.models
    kinds = {m.name: m.materialization(backend) for m in load_models()}
    expected = {name: ("VIEW" if kind == "view" else "BASE TABLE") for name, kind in kinds.items()}
    raw = {t for t in scenario.raw_tables()}
    assert {k: v for k, v in objects.items() if k not in raw} == expected


def test_leftover_build_objects_are_replaced(duck: duckdb.DuckDBPyConnection) -> None:
    write_tables(duck, DATASET, scenario.raw_tables())
    duck.execute(f'CREATE SCHEMA IF NOT EXISTS "{DATASET}"')
    duck.execute(f'CREATE TABLE "{DATASET}"."campaign_performance__build" AS SELECT 42 AS junk')
    duck.execute(f'CREATE VIEW "{DATASET}"."stg_woodpecker__prospects__build" AS SELECT 1 AS junk')
    build_models(duck, DATASET)
    assert not any(name.endswith(layout.BUILD_SUFFIX) for name in _objects(duck))
    assert "junk" not in read_table(duck, DATASET, "campaign_performance")[0]


def test_missing_optional_tables_build_empty_inputs(duck: duckdb.DuckDBPyConnection) -> None:
    raw = scenario.raw_tables()
    write_tables(duck, DATASET, {t: raw[t] for t in ("campaigns", "prospects", "campaign_prospects")})
    report = build_models(duck, DATASET)
    assert sorted(report.missing_tables) == sorted(
        ["prospect_opens", "prospect_clicks", "campaign_stats", "campaign_steps", "campaign_step_versions"]
    )
    campaigns = by_key(read_table(duck, DATASET, "campaign_performance"), "campaign_id")
    assert campaigns[1]["enrolled"] == 4 and campaigns[1]["unique_opened"] == 0
    assert campaigns[1]["reported_prospects"] is None
    assert report.rows_per_mart["step_version_performance"] == 0
    assert report.rows_per_mart["campaign_daily_activity"] == 4  # only contacts, replies and bounces


def test_empty_destination_builds_empty_marts(duck: duckdb.DuckDBPyConnection) -> None:
    report = build_models(duck, "fresh_dataset")
    assert sorted(report.missing_tables + report.absent_optional_tables) == sorted(layout.SOURCES)
    assert report.absent_optional_tables == list(layout.OPTIONAL_SOURCES)
    assert report.rows_per_mart == dict.fromkeys(layout.MARTS, 0)


def test_missing_columns_and_text_dates_are_read_through_the_contract(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    raw = scenario.raw_tables()
    prospects = []
    for row in raw["prospects"]:
        row = {k: v for k, v in row.items() if k not in ("company", "last_replied")}
        if row["last_contacted"] is not None:  # as the API serves it: account zone, offset without colon
            local = row["last_contacted"].astimezone(dt.timezone(dt.timedelta(hours=1)))
            row["last_contacted"] = local.strftime("%Y-%m-%dT%H:%M:%S%z")
        else:
            row["last_contacted"] = ""
        prospects.append(row)
    raw["prospects"] = prospects
    write_tables(duck, DATASET, raw, types={"last_contacted": layout.TEXT})
    report = build_models(duck, DATASET)
    missing = report.missing_columns["prospects"]
    assert {"company", "last_replied"} <= set(missing)
    assert not {"id", "email", "status", "last_contacted", "deleted_at"} & set(missing)
    pairs = by_key(read_table(duck, DATASET, "campaign_prospect_engagement"), "campaign_id", "prospect_id")
    assert pairs[(1, 12)]["last_contacted_at"] == ts("2025-03-01 23:30")
    assert pairs[(1, 10)]["last_replied_at"] is None
    prospects = by_key(read_table(duck, DATASET, "prospect_engagement"), "prospect_id")
    assert prospects[19]["company"] is None and prospects[19]["email_domain"] == "acme.com"


def test_naive_timestamps_are_utc_whatever_the_session_zone(duck: duckdb.DuckDBPyConnection) -> None:
    duck.execute("SET TimeZone = 'America/New_York'")
    raw = scenario.raw_tables()
    for row in raw["prospects"]:
        if row["last_contacted"] is not None:
            row["last_contacted"] = row["last_contacted"].replace(tzinfo=None)
    write_tables(duck, DATASET, raw, types={"last_contacted": "TIMESTAMP"})
    build_models(duck, DATASET)
    daily = by_key(read_table(duck, DATASET, "campaign_daily_activity"), "campaign_id", "activity_date")
    assert daily[(1, dt.date(2025, 3, 1))]["contacts"] == 1  # 23:30 UTC, not shifted to the next day
    pairs = by_key(read_table(duck, DATASET, "campaign_prospect_engagement"), "campaign_id", "prospect_id")
    assert pairs[(1, 12)]["last_contacted_at"] == ts("2025-03-01 23:30")


def _scenario_pipeline(tmp_path: Path, name: str) -> Any:
    pipeline = dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name=DATASET,
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    for table, rows in scenario.raw_tables().items():
        pipeline.run(rows, table_name=table, write_disposition="replace").raise_on_failed_jobs()
    return pipeline


def test_dlt_pipeline_and_sql_client_are_accepted(tmp_path: Path) -> None:
    pipeline = _scenario_pipeline(tmp_path, "wp_runner")
    from_pipeline = build_models(pipeline)
    assert from_pipeline.dialect == "duckdb" and from_pipeline.dataset_name == DATASET
    with pipeline.sql_client() as client:
        from_client = build_models(client)
    assert from_client.rows_per_mart == from_pipeline.rows_per_mart
    assert from_client.rows_per_mart["campaign_performance"] == 3
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            f"SELECT enrolled, replied FROM {DATASET}.campaign_performance WHERE campaign_id = 1"
        )
    assert rows is not None and tuple(rows[0]) == (4, 1)


def _view_chain() -> list[Model]:
    """A view on a raw table, a view on that view, and a table on the second view."""
    return [
        Model("v_members", "staging", "view",
              "SELECT campaign_id, prospect_id FROM {{ source('campaign_prospects') }} AS m "
              "WHERE m.deleted_at IS NULL",
              (), ("campaign_prospects",)),
        Model("v_per_campaign", "intermediate", "view",
              "SELECT campaign_id, COUNT(*) AS n FROM {{ ref('v_members') }} GROUP BY campaign_id",
              ("v_members",), ()),
        Model("t_total", "marts", "table",
              "SELECT CAST(SUM(n) AS BIGINT) AS total FROM {{ ref('v_per_campaign') }}",
              ("v_per_campaign",), ()),
    ]  # fmt: skip


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_view_models_are_republished_on_the_final_names(backend: str, request: pytest.FixtureRequest) -> None:
    conn = request.getfixturevalue("duck" if backend == "duckdb" else "pg_conn")
    raw = scenario.raw_tables()
    write_tables(conn, DATASET, {"campaign_prospects": raw["campaign_prospects"]})
    live = sum(1 for r in raw["campaign_prospects"] if r["deleted_at"] is None)
    for _ in range(2):
        report = build_models(conn, DATASET, models=_view_chain())
        assert report.rows_per_mart == {"t_total": 1}
        assert read_table(conn, DATASET, "t_total") == [{"total": live}]
    objects = _objects(conn)
    assert objects["v_members"] == "VIEW" and objects["v_per_campaign"] == "VIEW"
    assert objects["t_total"] == "BASE TABLE"
    assert not any(name.endswith(layout.BUILD_SUFFIX) for name in objects)
    # the published views read the published names: they keep working and follow new raw rows
    write_tables(conn, DATASET, {"campaign_prospects": raw["campaign_prospects"][:3]}, replace=False)
    total = read_table(conn, DATASET, "v_per_campaign")
    assert sum(r["n"] for r in total) == live + 3


def test_duckdb_views_survive_renaming_and_attaching_the_file(tmp_path: Path) -> None:
    path = tmp_path / "wp.duckdb"
    conn = duckdb.connect(str(path))
    write_tables(conn, DATASET, scenario.raw_tables())
    report = build_models(conn, DATASET)
    staged = read_table(conn, DATASET, "stg_woodpecker__campaign_prospects")
    conn.close()
    assert len(staged) == report.rows_per_mart["campaign_prospect_engagement"] == 8
    renamed = tmp_path / "copy_of_the_account.duckdb"
    renamed.write_bytes(path.read_bytes())
    reader = duckdb.connect()
    try:
        reader.execute(f"ATTACH '{renamed}' AS elsewhere (READ_ONLY)")
        count = reader.execute(
            f'SELECT COUNT(*) FROM elsewhere."{DATASET}".stg_woodpecker__campaign_prospects'
        ).fetchone()
        assert count is not None and count[0] == len(staged)
    finally:
        reader.close()


def _extra_mart(name: str, select: str) -> Model:
    return Model(
        name=name,
        layer="marts",
        materialized="table",
        sql=f"{select} FROM {{{{ ref('stg_woodpecker__prospects') }}}} AS p",
        refs=("stg_woodpecker__prospects",),
        sources=(),
    )


@pytest.mark.parametrize("select", ["SELECT p.prospect_id, p.updated_at", "SELECT *"])
def test_cached_views_keep_every_column_a_reader_needs(duck: duckdb.DuckDBPyConnection, select: str) -> None:
    """The shipped marts do not read `updated_at`; a further reader that does still gets it."""
    write_tables(duck, DATASET, scenario.raw_tables())
    report = build_models(duck, DATASET, models=[*load_models(), _extra_mart("zz_reader", select)])
    assert "zz_reader" in report.models
    built = {r["prospect_id"]: r["updated_at"] for r in read_table(duck, DATASET, "zz_reader")}
    staging = read_table(duck, DATASET, "stg_woodpecker__prospects")
    staged = {r["prospect_id"]: r["updated_at"] for r in staging}
    assert built == staged
    assert len(built) == 8 and all(v is not None for v in built.values())
