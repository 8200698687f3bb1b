"""Helpers of the push tests: a small simulator, the push command run in-process, and account look-ups."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from simulator import Simulator
from sources.woodpecker.client import WoodpeckerClient
from sources.woodpecker.progress import RunStats

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

PUSH_SIM = {"seed": 11, "prospects": 80, "campaigns": 6}


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries at once, and no API key from the environment unless a test passes one."""
    monkeypatch.setenv("SOURCES__WOODPECKER__BACKOFF_FACTOR", "0")
    monkeypatch.delenv("SOURCES__WOODPECKER__API_KEY", raising=False)


@pytest.fixture
def sim(make_simulator: Callable[..., Simulator]) -> Simulator:
    """A small account (80 prospects, 6 campaigns)."""
    return make_simulator(**PUSH_SIM)


@pytest.fixture
def client(sim: Simulator) -> Iterator[WoodpeckerClient]:
    """The source's client pointed at the simulator, retrying at once."""
    yield WoodpeckerClient(sim.api_key, sim.base_url, RunStats(), backoff_factor=0.0, max_attempts=5)


def push_cli(sim: Simulator, tmp_path: Path, *args: str, key: str | None = None) -> int:
    """Run `woodpecker-etl push …` in-process against the simulator and a DuckDB file in tmp_path."""
    return main(
        [
            "push",
            *args,
            "--base-url",
            sim.base_url,
            "--api-key",
            key if key is not None else sim.api_key,
            "--duckdb-path",
            str(tmp_path / "wp.duckdb"),
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
        ]
    )


def results(tmp_path: Path) -> list[dict[str, Any]]:
    """Every `push_results` row, by batch and input row."""
    with duckdb.connect(str(tmp_path / "wp.duckdb"), read_only=True) as con:
        frame = con.sql(
            "SELECT push_id, batch, row_number, email, prospect_id, outcome, code, message "
            "FROM woodpecker.push_results ORDER BY batch, row_number"
        ).df()
    return [{k: (None if v != v else v) for k, v in row.items()} for row in frame.to_dict("records")]


def has_results_table(tmp_path: Path) -> bool:
    """Whether `push_results` exists in the DuckDB file."""
    if not (tmp_path / "wp.duckdb").exists():
        return False
    with duckdb.connect(str(tmp_path / "wp.duckdb"), read_only=True) as con:
        rows = con.sql("SELECT 1 FROM information_schema.tables WHERE table_name = 'push_results'").fetchall()
    return bool(rows)


def email_index(sim: Simulator) -> dict[str, int]:
    """Lower-cased email → prospect id, from the simulator's account (the ground truth)."""
    return {p.fields["email"].lower(): p.id for p in sim.account.prospects.values()}


def write_posts(sim: Simulator) -> list[Any]:
    """The requests the simulator received on the two add endpoints."""
    return [r for r in sim.requests if r.path.startswith("/rest/v1/add_prospects_")]


def campaign_with_members(sim: Simulator) -> int:
    """A running campaign that has members."""
    members = {cid for (_, cid) in sim.account.memberships}
    return next(c.id for c in sim.account.campaigns.values() if c.status == "RUNNING" and c.id in members)


def prospect_with_status(sim: Simulator, status: str) -> Any:
    """Some prospect whose global status is `status`."""
    return next(p for p in sim.account.prospects.values() if p.status == status)
