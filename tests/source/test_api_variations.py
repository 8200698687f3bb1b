"""API behaviours the documents leave open: smaller pages than asked, no count, a skewed or missing clock.

Each simulator switch is served over real HTTP; first loads, changes between runs and incremental runs
must equal the truth, and a count the pages never reach must end the run as incomplete (exit code 8).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.exit_codes import ExitCode
from simulator import Simulator
from tests.reliability.common import dest_args, load_args, run_cli

from .harness import Loader, assert_matches_truth
from .test_source_sim import _apply_changes, _memberships

MakeSim = Callable[..., Simulator]
PROSPECTS = "/rest/v1/prospects"
HOUR = 3600
CAP = 150
# Every paged stream: full scans, the four change streams, the activity streams.
RESOURCES = ("campaigns", "prospects", "campaign_prospects", "prospect_opens", "prospect_clicks")
TABLES = ("campaigns", "prospects", "campaign_prospects", "prospect_opens", "prospect_clicks")
MEMBERSHIPS = ("campaigns", "prospects", "campaign_prospects")

# Every switch, two at a time (a page-size variation with a clock variation) to keep the suite short.
SWITCHES = {
    "page-size-cap,date-ahead-1h": {"page_size_cap": CAP, "date_skew_s": HOUR},
    "no-total-count,date-behind-1h": {"total_count": False, "date_skew_s": -HOUR},
    "cap-without-count,no-date-header": {"page_size_cap": CAP, "total_count": False, "date_header": False},
}


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_loads_equal_the_truth_under_each_api_variation(
    make_simulator: MakeSim, tmp_path: Path, switch: str
) -> None:
    sim = make_simulator(prospects=320, campaigns=4, **SWITCHES[switch])
    loader = Loader(sim, tmp_path)
    first = loader.run(RESOURCES)
    assert_matches_truth(loader, TABLES)
    if switch.startswith("page-size-cap"):
        # the first short page shows the cap: every later page is asked at that size, none is wasted
        assert first.stats.requests["prospects"] == math.ceil(len(sim.truth().prospects) / CAP)
        sizes = {r.query["per_page"] for r in first.requests if r.path == PROSPECTS}
        assert sizes <= {"1000", str(CAP), "100"}  # asked, capped, the activity streams' probe
        assert f"the API serves at most {CAP} rows per page (asked for 1000)" in " ".join(first.stats.notes)
    assert first.stats.incomplete() == {}

    # changes a few minutes after the first run: inside the hour a Date header running ahead claims
    sim.clock.advance(600)
    _apply_changes(sim)
    sim.clock.advance(60)
    loader.run(RESOURCES)
    assert_matches_truth(loader, TABLES)

    # more changes: the cursors neither skip nor stall
    sim.clock.advance(1200)
    active = _memberships(sim, "ACTIVE")
    sim.account.record_reply(*active[-1])
    sim.account.edit_prospect(int(sim.truth().prospects.id.iloc[-1]), city="Later")
    sim.account.add_prospects(2)
    sim.clock.advance(30)
    third = loader.run(RESOURCES)
    assert_matches_truth(loader, TABLES)
    assert third.stats.incomplete() == {}
    # an incremental run reads the changes and the lag overlap, not the account
    assert third.stats.rows.get("prospects", 0) < 50


def test_date_far_behind_the_data_is_reported_once(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=200, campaigns=3, date_skew_s=-3 * HOUR)
    workdir = tmp_path / "behind"
    summary = workdir / "summary.json"
    workdir.mkdir()
    run = run_cli(load_args(sim, workdir, "--no-transform", "--summary-json", str(summary)))
    assert run.code == ExitCode.OK, run.err
    assert run.out.count("ahead of the API's clock") == 1
    record = json.loads(summary.read_text())
    assert record["outcome"] == "complete"
    assert record["clock_ahead_s"] > 2.5 * HOUR  # the newest data is a few minutes old
    loader = Loader(sim, workdir, name="wp")
    assert_matches_truth(loader)


def _status(workdir: Path) -> str:
    run = run_cli(["status", *dest_args(workdir)])
    assert run.code == ExitCode.OK, run.err
    return run.out


def test_a_count_the_pages_never_reach_ends_the_run_incomplete(
    make_simulator: MakeSim, tmp_path: Path
) -> None:
    sim = make_simulator(prospects=250, campaigns=3, overcount=7)
    workdir = tmp_path / "short"
    summary = workdir / "summary.json"
    workdir.mkdir()
    run = run_cli(load_args(sim, workdir, "--no-transform", "--summary-json", str(summary)))
    assert run.code == ExitCode.INCOMPLETE == 8
    assert run.last_error.startswith("error: Incomplete load: ")
    assert "prospects 7 rows fewer than the API counted (X-Total-Count)" in run.last_error
    assert run.err.count("error:") == 1 and "Traceback" not in run.err
    assert not run.out.startswith("Loaded Woodpecker")  # never the normal summary
    assert "INCOMPLETE prospects" in run.out
    record: dict[str, Any] = json.loads(summary.read_text())
    assert record["outcome"] == "incomplete"
    assert {"prospects", "campaign_prospects"} <= set(record["incomplete"])
    assert "(incomplete)" in _status(workdir)
    assert "incomplete: prospects 7 rows fewer than the API counted" in _status(workdir)
    loader = Loader(sim, workdir, name="wp")
    # nothing flagged deleted on the strength of an incomplete scan, and the rows read are loaded
    assert loader.table("prospects", live_only=False).deleted_at.isna().all()
    assert len(loader.table("prospects")) == len(sim.truth().prospects)

    # the server counts right again: the next run reads the tables again and completes
    sim.config.overcount = 0
    sim.account.edit_prospect(int(sim.truth().prospects.id.iloc[0]), city="Afterwards")
    run = run_cli(load_args(sim, workdir, "--no-transform", "--summary-json", str(summary)))
    assert run.code == ExitCode.OK, run.err
    assert run.out.startswith("Loaded Woodpecker")
    assert json.loads(summary.read_text())["outcome"] == "complete"
    status = _status(workdir)
    assert "(succeeded)" in status and "incomplete" not in status
    assert_matches_truth(loader)


def test_a_date_header_an_hour_ahead_loses_no_change(make_simulator: MakeSim, tmp_path: Path) -> None:
    # (an hour behind is among the variations above: it only makes runs re-read more)
    sim = make_simulator(prospects=200, campaigns=3, date_skew_s=HOUR)
    loader = Loader(sim, tmp_path)
    loader.run(MEMBERSHIPS)
    for minutes in (10, 50):  # all before the hour a Date header running ahead claims has passed
        sim.clock.advance(minutes * 60)
        sim.account.edit_prospect(int(sim.truth().prospects.id.iloc[minutes]), city=f"After {minutes} min")
        active = _memberships(sim, "ACTIVE")
        sim.account.record_reply(*active[minutes % len(active)])
        loader.run(MEMBERSHIPS)
        assert_matches_truth(loader, MEMBERSHIPS)


def test_without_a_count_a_much_smaller_full_scan_is_noted(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=120, campaigns=2, total_count=False)
    loader = Loader(sim, tmp_path)
    first = loader.run(("prospects",))
    assert first.stats.notes == []
    for prospect_id in sim.truth().prospects.id.iloc[:80]:
        sim.account.delete_prospect(int(prospect_id))
    run = loader.run(("prospects",), reconcile=True)
    assert any("prospects: the full scan read" in note for note in run.stats.notes)
    assert run.stats.incomplete() == {}  # deletes explain it: a note, not an error
    assert_matches_truth(loader, ("prospects",))
