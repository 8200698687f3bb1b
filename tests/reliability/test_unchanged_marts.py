"""A load that changes nothing the models read keeps the engagement tables as built, without a rebuild.

A quiet account still gets rows fetched again (the campaign list, the overlap behind each cursor), but
their content is the same; the models read the raw tables alone, so the marts still match and `load`
keeps them current instead of spending a rebuild. The first load after a change rebuilds them, and they
equal the raw tables and the simulator's truth again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import dlt
import duckdb
import pytest

from pipelines import marts_state
from pipelines.exit_codes import ExitCode
from simulator import Simulator

from .common import DATASET, NAME, PIPELINE_NAME, Size, dest_args, load_args, run_cli, start_simulator


def _marts(db: Path) -> tuple[int, datetime]:
    """(rows of the prospect_engagement mart, when the marts were last built)."""
    with duckdb.connect(str(db), read_only=True) as con:
        mart = con.sql("SELECT COUNT(*) FROM woodpecker.prospect_engagement").fetchone()
        built = con.sql("SELECT built_at FROM woodpecker._woodpecker_marts WHERE NOT stale").fetchone()
    assert mart is not None and built is not None, "the marts are recorded current"
    return int(mart[0]), built[0]


def _summary(workdir: Path, name: str) -> dict[str, object]:
    return dict(json.loads((workdir / name).read_text(encoding="utf-8")))


def _rebuilt_and_shown(sim: Simulator, workdir: Path, query: str) -> tuple[object, ...] | None:
    """Load, check that the load rebuilt the marts, and return the first row `query` finds in them."""
    run = run_cli(load_args(sim, workdir, "--summary-json", str(workdir / "rebuilt.json")))
    assert run.code == ExitCode.OK, run.err
    assert _summary(workdir, "rebuilt.json")["engagement_tables"] == "rebuilt"
    with duckdb.connect(str(workdir / f"{NAME}.duckdb"), read_only=True) as con:
        return con.sql(query).fetchone()


def test_a_load_without_changes_keeps_the_marts_a_change_rebuilds_them(
    size: Size, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = start_simulator(23, replace(size, prospects=200), auto_bumps_updated=False)
    db = tmp_path / f"{NAME}.duckdb"
    try:
        first = run_cli(load_args(sim, tmp_path, "--summary-json", str(tmp_path / "first.json")))
        assert first.code == ExitCode.OK, first.err
        assert _summary(tmp_path, "first.json")["engagement_tables"] == "rebuilt"
        rows, built = _marts(db)
        assert rows == len(sim.truth().prospects)

        again = run_cli(load_args(sim, tmp_path, "--summary-json", str(tmp_path / "again.json")))
        assert again.code == ExitCode.OK, again.err
        summary = _summary(tmp_path, "again.json")
        assert any(summary["rows_loaded"].values()), "rows fetched again, unchanged"  # type: ignore[union-attr]
        assert summary["engagement_tables"] == "unchanged", summary
        assert "engagement tables: unchanged" in again.out, again.out
        assert _marts(db) == (rows, built), "not rebuilt, and still recorded current"
        status = run_cli(["status", *dest_args(tmp_path)])
        assert "engagement tables: current" in status.out, status.out

        # Other model code (an upgrade) rebuilds marts whose inputs did not change.
        with monkeypatch.context() as patched:
            patched.setattr(marts_state, "models_digest", lambda: "other models")
            upgraded = run_cli(load_args(sim, tmp_path, "--summary-json", str(tmp_path / "upgraded.json")))
        assert upgraded.code == ExitCode.OK, upgraded.err
        assert _summary(tmp_path, "upgraded.json")["engagement_tables"] == "rebuilt"
        rows, built = _marts(db)

        sim.account.add_prospects(7)
        changed = run_cli(load_args(sim, tmp_path, "--summary-json", str(tmp_path / "changed.json")))
        assert changed.code == ExitCode.OK, changed.err
        assert _summary(tmp_path, "changed.json")["engagement_tables"] == "rebuilt"
        rows_after, built_after = _marts(db)
        assert rows_after == len(sim.truth().prospects) == rows + 7
        assert built_after > built

        # One field a mart shows changes, and nothing else: the row count stays, the content does not.
        pid = int(sim.truth().prospects.id.iloc[0])
        sim.account.edit_prospect(pid, company="Fingerprint Probe Ltd")
        shown = _rebuilt_and_shown(
            sim, tmp_path, f"SELECT company FROM woodpecker.prospect_engagement WHERE prospect_id = {pid}"
        )
        assert shown == ("Fingerprint Probe Ltd",)
    finally:
        sim.stop()


def test_marts_state_of_an_older_release_is_read_and_rebuilt(size: Size, tmp_path: Path) -> None:
    sim = start_simulator(29, replace(size, prospects=120), auto_bumps_updated=False)
    db = tmp_path / f"{NAME}.duckdb"
    try:
        assert run_cli(load_args(sim, tmp_path)).code == ExitCode.OK
        with duckdb.connect(str(db)) as con:  # the four columns an older release wrote, marts current
            con.execute("DROP TABLE woodpecker._woodpecker_marts")
            con.execute(
                "CREATE TABLE woodpecker._woodpecker_marts (stale BOOLEAN, reason VARCHAR(1000), "
                "changed_at TIMESTAMPTZ, built_at TIMESTAMPTZ)"
            )
            con.execute("INSERT INTO woodpecker._woodpecker_marts VALUES (false, '', now(), now())")
        status = run_cli(["status", *dest_args(tmp_path)])
        assert "engagement tables: current" in status.out, status.out
        again = run_cli(load_args(sim, tmp_path, "--summary-json", str(tmp_path / "again.json")))
        assert again.code == ExitCode.OK, again.err
        assert _summary(tmp_path, "again.json")["engagement_tables"] == "rebuilt", "built by unknown models"
        with duckdb.connect(str(db), read_only=True) as con:
            recorded = con.sql("SELECT models FROM woodpecker._woodpecker_marts").fetchone()
        assert recorded == (marts_state.models_digest(),)
    finally:
        sim.stop()


def test_a_change_to_one_input_alone_rebuilds_the_marts(size: Size, tmp_path: Path) -> None:
    """A load compares, after it wrote, only the tables it wrote to: any change among them rebuilds."""
    sim = start_simulator(31, replace(size, prospects=150), auto_bumps_updated=False)
    db = tmp_path / f"{NAME}.duckdb"
    try:
        assert run_cli(load_args(sim, tmp_path)).code == ExitCode.OK
        again = run_cli(load_args(sim, tmp_path, "--summary-json", str(tmp_path / "again.json")))
        assert again.code == ExitCode.OK, again.err
        assert _summary(tmp_path, "again.json")["engagement_tables"] == "unchanged"
        _, built = _marts(db)

        membership = sim.truth().campaign_prospects.iloc[0]
        sim.account.record_click(int(membership.prospect_id), int(membership.campaign_id))
        clicked = run_cli(load_args(sim, tmp_path, "--summary-json", str(tmp_path / "clicked.json")))
        assert clicked.code == ExitCode.OK, clicked.err
        summary = _summary(tmp_path, "clicked.json")
        assert summary["engagement_tables"] == "rebuilt", summary
        assert _marts(db)[1] > built
        with duckdb.connect(str(db), read_only=True) as con:
            loaded = con.sql("SELECT COUNT(*) FROM woodpecker.prospect_clicks").fetchone()
            shown = con.sql("SELECT SUM(clicks) FROM woodpecker.campaign_daily_activity").fetchone()
        assert loaded == (len(sim.truth().clicks),)
        assert shown is not None and shown[0] == len(sim.truth().clicks)

        # A campaign renamed.
        campaign_id = int(membership.campaign_id)
        sim.account.edit_campaign(campaign_id, name="Fingerprint Probe Campaign")
        name = _rebuilt_and_shown(
            sim,
            tmp_path,
            f"SELECT campaign_name FROM woodpecker.campaign_performance WHERE campaign_id = {campaign_id}",
        )
        assert name == ("Fingerprint Probe Campaign",)

        # The part of the fingerprint a load compares covers the tables it names, and sees a change there.
        pipeline = dlt.pipeline(
            PIPELINE_NAME,
            destination=dlt.destinations.duckdb(str(db)),
            dataset_name=DATASET,
            pipelines_dir=str(tmp_path / "pipelines"),
        )
        before = marts_state.inputs_fingerprint(pipeline)
        assert before is not None
        with duckdb.connect(str(db)) as con:
            con.execute("UPDATE woodpecker.prospect_clicks SET url = url || '?changed' WHERE rowid = 0")
        clicks, others = {"prospect_clicks"}, {table for table, _, _ in before} - {"prospect_clicks"}
        assert [table for table, _, _ in marts_state.fingerprint_of(before, clicks)] == ["prospect_clicks"]
        assert marts_state.inputs_fingerprint(pipeline, clicks) != marts_state.fingerprint_of(before, clicks)
        assert marts_state.inputs_fingerprint(pipeline, others) == marts_state.fingerprint_of(before, others)
    finally:
        sim.stop()
