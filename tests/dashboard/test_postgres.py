"""The dashboard over PostgreSQL, read through the pipeline's dlt SQL client, equals the one over DuckDB."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.dashboard.marts import MARTS, MartSource, build_payload
from simulator import Simulator
from tests.transforms.conftest import postgres_dsn, postgres_server

__all__ = ["postgres_dsn", "postgres_server"]
COMPARED = ("campaigns", "mailboxes", "cells", "daily", "steps", "domains", "domain_cells", "has_data")


def _load(sim: Simulator, folder: Path, destination: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["load", "--destination", destination, "--base-url", sim.base_url,
                     "--api-key", sim.api_key, "--duckdb-path", str(folder / "duck.duckdb"),
                     "--pipelines-dir", str(folder / destination),
                     "--dashboard", str(folder / f"{destination}.html")])  # fmt: skip
    assert code == 0, out.getvalue()
    return out.getvalue()


def test_postgres_payload_equals_duckdb(
    make_simulator: Callable[..., Simulator],
    tmp_path: Path,
    postgres_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_dsn)
    sim = make_simulator()
    assert "Dashboard written to" in _load(sim, tmp_path, "postgres")
    _load(sim, tmp_path, "duckdb")
    assert (tmp_path / "postgres.html").stat().st_size > 100_000
    pg = build_payload(MartSource(destination="postgres", pipelines_dir=str(tmp_path / "postgres")))
    duck = build_payload(MartSource(duckdb_path=str(tmp_path / "duck.duckdb")))
    assert pg["has_data"] and pg["missing_marts"] == []
    for key in COMPARED:
        assert pg[key] == duck[key], key
    marts = {name: rows for name, rows in duck["freshness"]["tables"] if name in MARTS}
    assert {name: rows for name, rows in pg["freshness"]["tables"] if name in MARTS} == marts
    assert pg["freshness"]["last_load_at"] is not None
    # a machine that never ran the load (no local pipeline state) reads the same warehouse
    fresh = build_payload(MartSource(destination="postgres", pipelines_dir=str(tmp_path / "elsewhere")))
    for key in COMPARED:
        assert fresh[key] == pg[key], key
