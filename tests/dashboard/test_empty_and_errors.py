"""Empty and tiny accounts render a clear "no data yet" page; bad input is one line and exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from transforms.build import build_models

from .pages import open_page


def _export(db: Path, html: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["dashboard", "--export", str(html), "--duckdb-path", str(db)]) == 0
    return capsys.readouterr().out


def test_database_without_engagement_tables(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fresh.duckdb"
    duckdb.connect(str(db)).close()
    _export(db, tmp_path / "fresh.html", capsys)
    page, watched = open_page(browser, (tmp_path / "fresh.html").as_uri())
    assert page.is_visible("#empty") and not page.is_visible("#panels") and not page.is_visible("#filters")
    assert "No data yet" in page.inner_text("#empty")
    assert "woodpecker-etl load" in page.inner_text("#empty-reason")
    assert "No load recorded in this database" in page.inner_text("#freshness")
    assert watched.errors == []
    page.close()


def test_account_with_a_campaign_and_no_prospects(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tiny.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA woodpecker")
        con.execute(
            "CREATE TABLE woodpecker.campaigns AS SELECT 1 AS id, 'Launch' AS name, 'DRAFT' AS status"
        )
        build_models(con, "woodpecker")
        assert con.execute("SELECT COUNT(*) FROM woodpecker.campaign_performance").fetchone() == (1,)
    _export(db, tmp_path / "tiny.html", capsys)
    page, watched = open_page(browser, (tmp_path / "tiny.html").as_uri())
    assert page.is_visible("#empty") and not page.is_visible("#panels")
    assert "no campaign with prospects yet" in page.inner_text("#empty-reason")
    assert page.text_content("#row-counts [data-table='campaign_performance']") == "1"
    assert watched.errors == []
    page.close()


def test_missing_database_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.duckdb"
    code = main(["dashboard", "--export", str(tmp_path / "x.html"), "--duckdb-path", str(missing)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and f"No database at {missing}" in err and "Traceback" not in err
    assert not (tmp_path / "x.html").exists()


def test_load_dashboard_with_accounts_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["load", "--accounts", "all", "--dashboard", "x.html"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --dashboard and --accounts exclude each other") and err.count("\n") == 1


def test_unwritable_export_path_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fresh.duckdb"
    duckdb.connect(str(db)).close()
    (tmp_path / "a-file").write_text("x")
    code = main(["dashboard", "--export", str(tmp_path / "a-file" / "d.html"), "--duckdb-path", str(db)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: Cannot write the dashboard to") and err.count("\n") == 1


def test_live_app_without_a_database_does_not_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.duckdb"
    assert main(["dashboard", "--port", "0", "--duckdb-path", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"No database at {missing}" in err and err.count("\n") == 1
