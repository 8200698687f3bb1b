"""Fixtures of the dashboard tests: a simulated account loaded with `load --dashboard`, and a browser.

The browser is the distribution's Chromium (`chromium-headless-shell` or `chromium`, installed by
`make venv`), driven by Playwright's Python package; one browser per test module.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from simulator import Simulator, SimulatorConfig

SEED, PROSPECTS, CAMPAIGNS = 7, 2_000, 8
BROWSERS = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")
QUIET_CHROMIUM = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--disable-quic"]  # fmt: skip


def browser_executable() -> str:
    """The distribution's Chromium; fails (never skips) with what to run when it is missing."""
    for path in (os.environ.get("WOODPECKER_ETL_CHROMIUM", ""), *BROWSERS):
        if path and Path(path).is_file():
            return path
    pytest.fail(
        "No Chromium for the browser tests: run `make venv` as root or "
        "`apt-get install chromium-headless-shell`."
    )


@dataclass
class Account:
    """A simulated account loaded into DuckDB, its exported dashboard and the simulator's ground truth."""

    db: Path
    html: Path
    truth: Any
    load_output: str

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the loaded database (read-only)."""
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(query).fetchall()


@pytest.fixture(scope="session")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    """The account, loaded once per session by `woodpecker-etl load --dashboard PATH.html`."""
    folder = tmp_path_factory.mktemp("dashboard")
    db, html = folder / "account.duckdb", folder / "account.html"
    with Simulator(SimulatorConfig(seed=SEED, prospects=PROSPECTS, campaigns=CAMPAIGNS)) as sim:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["load", "--base-url", sim.base_url, "--api-key", sim.api_key,
                         "--duckdb-path", str(db), "--pipelines-dir", str(folder / "pipelines"),
                         "--dashboard", str(html)])  # fmt: skip
        assert code == 0, out.getvalue()
        yield Account(db=db, html=html, truth=sim.truth(), load_output=out.getvalue())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=browser_executable(), args=QUIET_CHROMIUM)
        yield launched
        launched.close()


def copy_database(account: Account, target: Path) -> Path:
    """A copy of the account's database that a test may change."""
    shutil.copy(account.db, target)
    return target
