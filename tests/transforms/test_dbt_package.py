"""The models as a dbt package: same marts as `woodpecker-etl transform`, same tests, docs from schema.yml.

One simulated account (loaded over HTTP by the source, plus webhook events) is built twice in the same
database: by the built-in runner into `woodpecker`, by `dbt build` of a project that installed the
package into `woodpecker_dbt`; every mart must be identical row for row and column for column (names,
order, types), and every schema.yml test pass. The same on the throwaway PostgreSQL server with the
package as the dbt project, there without webhook events (a missing table). A copy of the raw tables
with a broken invariant makes both `dbt build` and `woodpecker-etl transform --test` fail, naming the
model, the column and the failing key.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb
import psycopg2
import pytest
import yaml

from pipelines.cli import main as cli_main
from pipelines.exit_codes import ExitCode
from simulator import Simulator, SimulatorConfig
from sources.woodpecker import woodpecker_source
from sources.woodpecker.reconcile import apply_reconciliation
from transforms import layout
from transforms.build import build_models
from transforms.catalog import ModelError, load_models
from transforms.model_docs import (
    METRICS_DOC,
    load_schema,
    mart_section,
    render_document,
    source_contract,
    stale_documents,
    undocumented,
)
from transforms.model_tests import run_model_tests

from .conftest import DATASET
from .dbt_cli import DbtRun, run_dbt, user_project, write_profile
from .postgres_server import PostgresServer
from .raw import Row, read_table, write_tables
from .scenario import raw_tables

DBT_SCHEMA = "woodpecker_dbt"
PIPELINE = "wp_dbt"
ACCOUNT = SimulatorConfig(seed=5, prospects=400, campaigns=8)
BROKEN_TEST = "expression_is_true(NOT was_replied OR was_contacted)"


@dataclass(frozen=True)
class Account:
    """A loaded account: the DuckDB file with only the raw tables, and the pipeline that loaded it."""

    raw: Path
    pipelines_dir: Path


@dataclass(frozen=True)
class Built:
    """The account built by the runner (schema `woodpecker`) and by dbt (`woodpecker_dbt`).

    Attributes:
        path: The DuckDB file.
        work: dbt's folder (profile, target, logs).
        link: The database path of the profile's `duck` target, a symbolic link to `path`: pointing it
            at another file lets a later dbt run reuse the parsed project (a changed profile would not).
        dbt: The `dbt build` run.
    """

    path: Path
    work: Path
    link: Path
    dbt: DbtRun


def _load(sim: Simulator, destination: Any, pipelines_dir: Path) -> None:
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE,
        destination=destination,
        dataset_name=DATASET,
        pipelines_dir=str(pipelines_dir),
    )
    source = woodpecker_source(api_key=sim.api_key, base_url=sim.base_url, backoff_factor=0.0)
    pipeline.run(source).raise_on_failed_jobs()
    apply_reconciliation(pipeline)


def _webhook_events(memberships: list[tuple[int, int, int]]) -> list[Row]:
    """Events for some contacted memberships: sends per step, opens, clicks and replies, over 5 days."""
    start = dt.datetime(2025, 4, 22, 8, tzinfo=dt.UTC)
    events: list[Row] = []
    for n, (campaign_id, prospect_id, sent) in enumerate(memberships):
        kinds = [("campaign_sent", step) for step in range(1, min(sent, 3) + 1)]
        kinds += [("email_opened", 1)] if n % 2 == 0 else []
        kinds += [("link_clicked", 1)] if n % 3 == 0 else []
        kinds += [("prospect_replied", min(sent, 3))] if n % 5 == 0 else []
        for event, step in kinds:
            occurred = start + dt.timedelta(hours=7 * n + 13 * step + len(events) % 5)
            events.append(
                {
                    "event_id": f"{campaign_id}-{prospect_id}-{event}-{step}",
                    "event": event,
                    "prospect_id": prospect_id,
                    "campaign_id": campaign_id,
                    "step": step,
                    "occurred_at": occurred,
                    "email": f"p{prospect_id}@example.com",
                    "url": "https://example.com/x" if event == "link_clicked" else None,
                    "received_at": occurred + dt.timedelta(seconds=5),
                }
            )
    return events


def _add_webhook_events(conn: Any) -> None:
    query = (
        f'SELECT campaign_id, prospect_id, sent_mails FROM "{DATASET}"."campaign_prospects" '
        "WHERE sent_mails > 0 ORDER BY campaign_id, prospect_id LIMIT 80"
    )
    if isinstance(conn, duckdb.DuckDBPyConnection):
        memberships = conn.execute(query).fetchall()
    else:
        with conn.cursor() as cur:
            cur.execute(query)
            memberships = cur.fetchall()
    assert len(memberships) == 80
    write_tables(conn, DATASET, {"webhook_events": _webhook_events(memberships)})


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Account:
    folder = tmp_path_factory.mktemp("dbt_account")
    raw = folder / "raw.duckdb"
    with Simulator(ACCOUNT) as sim:
        _load(sim, dlt.destinations.duckdb(str(raw)), folder / "pipelines")
    with duckdb.connect(str(raw)) as conn:
        _add_webhook_events(conn)
    return Account(raw, folder / "pipelines")


@pytest.fixture(scope="module")
def built(account: Account, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("dbt_built")
    path = folder / "built.duckdb"
    shutil.copy(account.raw, path)
    with duckdb.connect(str(path)) as conn:
        build_models(conn, DATASET)
    # DuckDB names the catalog after the file the link resolves to: every target file is `built.duckdb`
    link = folder / "current" / path.name
    link.parent.mkdir()
    link.symlink_to(path)
    write_profile(folder, {"duck": {"type": "duckdb", "path": str(link), "schema": DBT_SCHEMA, "threads": 2}})
    # built as a user's project builds it: the package installed as a dependency
    project = user_project(folder / "analytics")
    return Built(path, folder, link, run_dbt(folder, "build", target="duck", project_dir=project))


def _columns(conn: Any, schema: str, table: str) -> list[tuple[str, str]]:
    query = (
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = '{table}' ORDER BY ordinal_position"
    )
    if isinstance(conn, duckdb.DuckDBPyConnection):
        return [(str(n), str(t)) for n, t in conn.execute(query).fetchall()]
    with conn.cursor() as cur:
        cur.execute(query)
        return [(str(n), str(t)) for n, t in cur.fetchall()]


def _assert_same_marts(conn: Any) -> None:
    """Every mart of the runner (`woodpecker`) equals dbt's (`woodpecker_dbt`): columns, types, rows."""
    docs = load_schema()
    for mart in layout.MARTS:
        columns = _columns(conn, DATASET, mart)
        assert columns, mart
        assert _columns(conn, DBT_SCHEMA, mart) == columns, f"{mart}: columns differ"
        grain = list(docs[mart].grain)
        ours, theirs = read_table(conn, DATASET, mart, grain), read_table(conn, DBT_SCHEMA, mart, grain)
        assert len(ours) == len(theirs) > 0, mart
        for row_ours, row_theirs in zip(ours, theirs, strict=True):
            assert row_ours == row_theirs, f"{mart} {[row_ours[k] for k in grain]}"


def _assert_dbt_passed(run: DbtRun) -> None:
    assert run.returncode == 0, run.output[-4000:]
    assert re.search(r"\bERROR=0\b", run.output), run.output[-4000:]
    assert "woodpecker test failed" not in run.output


def test_dbt_build_on_duckdb_gives_the_transform_marts(built: Built) -> None:
    _assert_dbt_passed(built.dbt)
    with duckdb.connect(str(built.path), read_only=True) as conn:
        _assert_same_marts(conn)
        # the account exercises the webhook columns too
        sends = conn.execute(f'SELECT SUM(event_sends) FROM "{DATASET}".campaign_daily_activity').fetchone()
        assert sends is not None and sends[0] > 80


def test_transform_runs_the_same_tests_as_dbt(built: Built) -> None:
    """The built-in runner runs every schema.yml test dbt ran on the models it builds, and they pass."""
    found = re.search(r"Found (\d+) models, (\d+) data tests", built.dbt.output)
    assert found, built.dbt.output[-2000:]
    docs = load_schema()
    dbt_only = sum(
        len(d.tests) + sum(len(c.tests) for c in d.columns.values())
        for d in docs.values()
        if d.layer not in layout.LAYERS
    )
    with duckdb.connect(str(built.path), read_only=True) as conn:
        report = run_model_tests(conn, DATASET)
    assert report.failures == []
    assert report.tests_run == int(found.group(2)) - dbt_only > 90


@pytest.mark.slow
def test_dbt_build_on_postgres_gives_the_transform_marts(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_server.dsn())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn = psycopg2.connect(postgres_server.dsn(name))
    conn.autocommit = True
    try:
        with Simulator(ACCOUNT) as sim:
            _load(sim, dlt.destinations.postgres(postgres_server.dsn(name)), tmp_path / "pipelines")
        # no webhook_events here: both runners read the missing table as empty (and the four tables
        # without deleted_at as having NULLs there)
        report = build_models(conn, DATASET)
        assert report.absent_optional_tables == ["webhook_events"]
        assert sorted(report.missing_columns) == [
            "campaign_step_versions",
            "campaign_steps",
            "prospect_clicks",
            "prospect_opens",
        ]
        target = {
            "type": "postgres",
            "host": postgres_server.host,
            "port": postgres_server.port,
            "user": postgres_server.user,
            "password": "trust",
            "dbname": name,
            "schema": DBT_SCHEMA,
            "threads": 2,
        }
        write_profile(tmp_path, {"pg": target})
        _assert_dbt_passed(run_dbt(tmp_path, "build", target="pg"))
        _assert_same_marts(conn)
        assert run_model_tests(conn, DATASET).failures == []
    finally:
        conn.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.slow
def test_a_broken_invariant_fails_dbt_and_transform_test(
    account: Account, built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reply without a send (seeded into a copy of the raw tables) is named by both runners."""
    with duckdb.connect(str(built.path), read_only=True) as conn:
        replied = conn.execute(
            f'SELECT campaign_id, prospect_id FROM "{DATASET}".campaign_prospect_engagement '
            "WHERE was_replied ORDER BY campaign_id, prospect_id LIMIT 1"
        ).fetchone()
    assert replied is not None
    campaign_id, prospect_id = replied
    broken = tmp_path / built.path.name
    shutil.copy(account.raw, broken)
    with duckdb.connect(str(broken)) as conn:
        conn.execute(
            f'UPDATE "{DATASET}".campaign_prospects SET sent_mails = 0 '
            "WHERE campaign_id = ? AND prospect_id = ?",
            [campaign_id, prospect_id],
        )
    expected = (
        f"woodpecker test failed: campaign_prospect_engagement.was_replied: {BROKEN_TEST} fails for "
        f"campaign_id={campaign_id}, prospect_id={prospect_id} (1 row)"
    )

    code = cli_main(
        ["transform", "--test", "--duckdb-path", str(broken), "--pipeline-name", PIPELINE,
         "--pipelines-dir", str(account.pipelines_dir)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == ExitCode.DATA_TEST == 9
    assert expected in captured.err.splitlines()
    assert "Traceback" not in captured.err + captured.out

    built.link.unlink()
    built.link.symlink_to(broken)
    try:
        run = run_dbt(
            built.work, "build", "--select", "+campaign_prospect_engagement", target="duck",
            project_dir=built.work / "analytics",
        )  # fmt: skip
    finally:
        built.link.unlink()
        built.link.symlink_to(built.path)
    assert run.returncode == 1, run.output[-4000:]
    assert expected in run.output
    assert (
        "Failure in test woodpecker_expression_is_true_campaign_prospect_engagement_was_replied" in run.output
    )


def test_every_model_and_column_is_documented_once(built: Built) -> None:
    models = [m.name for m in load_models()]
    with duckdb.connect(str(built.path), read_only=True) as conn:
        columns = {name: [c for c, _ in _columns(conn, DATASET, name)] for name in models}
    assert all(columns.values())
    assert undocumented(columns, load_schema(), models) == []


@pytest.fixture
def models_copy(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "models"
    shutil.copytree(layout.MODELS_DIR, folder)
    shutil.copytree(layout.MODELS_DIR.parent / "macros", tmp_path / "macros")  # the models call them
    yield folder


def test_an_undocumented_or_invented_column_fails(
    account: Account, models_copy: Path, tmp_path: Path
) -> None:
    """A model or column without a schema.yml entry, and an entry for a column that is not built, fail."""
    (models_copy / "marts" / "extra_mart.sql").write_text(
        "SELECT campaign_id FROM {{ ref('campaign_performance') }}", encoding="utf-8"
    )
    mart_sql = models_copy / "marts" / "company_engagement.sql"
    mart_sql.write_text(
        mart_sql.read_text(encoding="utf-8").replace(
            "SELECT\n    *,\n", "SELECT\n    *,\n    1 AS new_flag,\n"
        ),
        encoding="utf-8",
    )
    schema_file = models_copy / "marts" / "_woodpecker__marts.yml"
    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    performance = next(m for m in schema["models"] if m["name"] == "campaign_performance")
    performance["columns"].append({"name": "ghost_rate", "description": "Not built by the SQL."})
    schema_file.write_text(yaml.safe_dump(schema, sort_keys=False), encoding="utf-8")

    models = load_models(models_copy)
    copy = tmp_path / "raw.duckdb"
    shutil.copy(account.raw, copy)
    with duckdb.connect(str(copy)) as conn:
        build_models(conn, DATASET, models=models)
        columns = {m.name: [c for c, _ in _columns(conn, DATASET, m.name)] for m in models}
    problems = undocumented(columns, load_schema(models_copy), [m.name for m in models])
    assert sorted(problems) == [
        "campaign_performance.ghost_rate: documented column does not exist",
        "company_engagement.new_flag: column not documented in schema.yml",
        "extra_mart: model not documented in schema.yml",
    ]


def test_docs_are_generated_from_schema_yml() -> None:
    """docs/metrics.md and docs/tables.md hold what schema.yml says; an edited description changes them."""
    assert stale_documents() == []
    docs = load_schema()
    text = METRICS_DOC.read_text(encoding="utf-8")
    for mart in layout.MARTS:
        assert mart_section(docs[mart]) in text
    docs["campaign_performance"].columns["reply_rate"].description = "changed"
    blocks = {mart: mart_section(docs[mart]) for mart in layout.MARTS}
    source = "transforms/models/marts/_woodpecker__marts.yml"
    assert render_document(text, blocks, source) != text


def test_sources_yml_is_the_contract_of_the_builtin_runner() -> None:
    expected = {
        table: {c: t.upper() for c, t in columns.items()} for table, columns in layout.SOURCES.items()
    }
    assert source_contract() == expected


def test_semantic_layer_rates_match_campaign_performance(built: Built) -> None:
    """Each headline ratio metric, computed per campaign from its measures, equals the mart's rate column."""
    content = yaml.safe_load((layout.MODELS_DIR / "marts" / "_woodpecker__metrics.yml").read_text())
    (semantic,) = content["semantic_models"]
    assert semantic["model"] == "ref('campaign_prospect_engagement')"
    measures = {m["name"]: m["expr"] for m in semantic["measures"]}
    metrics = {m["name"]: m for m in content["metrics"]}
    ratios = [m for m in metrics.values() if m["type"] == "ratio"]
    assert {m["name"] for m in ratios} == {
        f"woodpecker_{rate}"
        for rate in ("reply_rate", "positive_reply_rate", "bounce_rate", "open_rate", "click_rate")
    }

    def measure(metric: str) -> str:
        return f"SUM({measures[metrics[metric]['type_params']['measure']]})"

    with duckdb.connect(str(built.path), read_only=True) as conn:
        for ratio in ratios:
            numerator = measure(ratio["type_params"]["numerator"])
            denominator = measure(ratio["type_params"]["denominator"])
            column = ratio["name"].removeprefix("woodpecker_")
            rows = conn.execute(
                f"""
                WITH metric AS (
                    SELECT campaign_id,
                           CASE WHEN {denominator} > 0
                               THEN CAST({numerator} AS DOUBLE) / {denominator} END AS value
                    FROM "{DATASET}".campaign_prospect_engagement GROUP BY campaign_id
                )
                SELECT p.campaign_id, m.value, p.{column}
                FROM "{DATASET}".campaign_performance AS p
                JOIN metric AS m ON m.campaign_id = p.campaign_id
                """
            ).fetchall()
            assert sum(1 for _, value, _ in rows if value is not None) > 0, column
            for campaign_id, value, expected in rows:
                same = value == expected or (
                    value is not None
                    and expected is not None
                    and math.isclose(value, expected, rel_tol=1e-12)
                )
                assert same, (ratio["name"], campaign_id, value, expected)


def test_transform_test_refuses_several_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["transform", "--test", "--accounts", "all"]) == ExitCode.CONFIGURATION
    captured = capsys.readouterr()
    assert "transform --test runs on one pipeline" in captured.err + captured.out
    assert "Traceback" not in captured.err + captured.out


def test_schema_tests_hold_on_the_handbuilt_account(duck: duckdb.DuckDBPyConnection) -> None:
    """The invariants hold on the awkward cases too (deletions, duplicates, NULLs, odd spellings)."""
    write_tables(duck, DATASET, raw_tables())
    build_models(duck, DATASET)
    report = run_model_tests(duck, DATASET)
    assert report.tests_run > 90
    assert (report.failures, report.warnings) == ([], [])
    # and they can fail there: a membership that replied without a send
    duck.execute(f"UPDATE \"{DATASET}\".campaign_prospects SET sent_mails = 0 WHERE status = 'REPLIED'")
    build_models(duck, DATASET)
    failed = {(f.model, f.column) for f in run_model_tests(duck, DATASET).failures}
    assert ("campaign_prospect_engagement", "was_replied") in failed


DIALECT_MACRO = """
{% macro utc_day(ts) %}{{ return(adapter.dispatch('utc_day', 'woodpecker')(ts)) }}{% endmacro %}
{% macro default__utc_day(ts) %}CAST({{ ts }} AT TIME ZONE 'UTC' AS DATE){% endmacro %}
{% macro postgres__utc_day(ts) %}({{ ts }} AT TIME ZONE 'UTC')::date{% endmacro %}
"""


def test_the_runner_writes_a_dispatched_macro_in_its_duckdb_form(tmp_path: Path) -> None:
    """A dialect difference is a package macro dispatched per adapter; the runner uses `default__`."""
    (tmp_path / "macros").mkdir()
    (tmp_path / "macros" / "dialect.sql").write_text(DIALECT_MACRO, encoding="utf-8")
    for layer in layout.LAYERS:
        (tmp_path / "models" / layer).mkdir(parents=True)
    (tmp_path / "models" / "staging" / "s.sql").write_text(
        "SELECT {{ woodpecker.utc_day('o.opened_at') }} AS d, {{ utc_day(\"o.x\") }} AS e "
        "FROM {{ typed_source(source('woodpecker', 'prospect_opens')) }} AS o",
        encoding="utf-8",
    )
    (model,) = load_models(tmp_path / "models")
    assert model.sql == (
        "SELECT CAST(o.opened_at AT TIME ZONE 'UTC' AS DATE) AS d, CAST(o.x AT TIME ZONE 'UTC' AS DATE) AS e "
        "FROM {{ typed_source(source('woodpecker', 'prospect_opens')) }} AS o"
    )
    assert model.sources == ("prospect_opens",)
    (tmp_path / "models" / "staging" / "s.sql").write_text("SELECT {{ utc_day(o.x) }} AS d", encoding="utf-8")
    with pytest.raises(ModelError, match="quoted SQL strings"):
        load_models(tmp_path / "models")
    (tmp_path / "models" / "staging" / "s.sql").write_text(
        "SELECT {{ utc_days('x') }} AS d", encoding="utf-8"
    )
    with pytest.raises(ModelError, match="unknown macro 'utc_days'"):
        load_models(tmp_path / "models")
