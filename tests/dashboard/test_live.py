"""`woodpecker-etl dashboard` serves the page live with uvicorn, re-querying the marts on every page load."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from .conftest import Account, copy_database
from .pages import expected_kpis, league_cells, open_page, tiles

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def live(account: Account, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The live dashboard over a copy of the account's database; its URL and the database."""
    db = copy_database(account, tmp_path_factory.mktemp("live") / "live.duckdb")
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "dashboard", "--port", "0", "--duckdb-path", str(db)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("Dashboard on http://127.0.0.1:"), line + (
        process.stderr.read() if process.stderr else ""
    )
    url = line.split()[2]
    yield url, db
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0


def test_live_page_equals_the_marts_and_has_no_console_error(
    browser: Any, live: tuple[str, Path], account: Account
) -> None:
    url, _ = live
    page, watched = open_page(browser, url, block_network=False)
    assert tiles(page) == expected_kpis(account)
    assert set(league_cells(page)) == {
        r[0]
        for r in account.sql("SELECT campaign_id FROM woodpecker.campaign_performance WHERE enrolled > 0")
    }
    assert watched.errors == []
    assert all(u.startswith(url) for u in watched.requests), watched.requests  # nothing but the page itself
    page.close()


def test_each_page_load_queries_the_marts_again(browser: Any, live: tuple[str, Path]) -> None:
    url, db = live
    # the server holds no connection: another process may write between page loads
    with duckdb.connect(str(db)) as con:
        cid = con.execute(
            "SELECT MIN(campaign_id) FROM woodpecker.campaign_performance WHERE enrolled > 0"
        ).fetchone()[0]
        con.execute(
            "UPDATE woodpecker.campaign_performance SET campaign_name = 'Renamed while live' "
            f"WHERE campaign_id = {cid}"
        )
    page, _ = open_page(browser, url, block_network=False)
    assert page.inner_text(f"#league tr[data-campaign-id='{cid}'] td[data-col='campaign']").startswith(
        "Renamed while live"
    )
    page.close()


def test_health_and_unknown_paths(live: tuple[str, Path]) -> None:
    url, _ = live
    with urllib.request.urlopen(url + "healthz", timeout=10) as answer:
        assert answer.read() == b"ok\n"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url + "etc/passwd", timeout=10)
    assert missing.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as posted:
        urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"), timeout=10)
    assert posted.value.code == 405


def test_busy_port_is_a_configuration_error(account: Account) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = ["dashboard", "--port", str(port), "--duckdb-path", str(account.db)]
        result = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.startswith(f"error: Cannot listen on 127.0.0.1:{port}")
        and result.stderr.count("\n") == 1
    )


def test_a_locked_database_answers_503_then_recovers(live: tuple[str, Path]) -> None:
    url, db = live
    with duckdb.connect(str(db)):  # a writer holds the file, as a running load does
        with pytest.raises(urllib.error.HTTPError) as locked:
            urllib.request.urlopen(url, timeout=30)
        assert locked.value.code == 503
        assert b"Dashboard unavailable" in locked.value.read()
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200 and b'id="wp-data"' in answer.read()
