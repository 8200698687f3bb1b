"""`woodpecker-etl load --accounts`: each account equals its own simulator; parallel; both layouts."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.exit_codes import ExitCode
from simulator import Simulator
from sources.webhook_spool import SpoolWriter
from tests.source.harness import assert_matches_truth

from .conftest import AGENCY_KEY, Fleet, account_loader

NAMES = ("acme", "globex", "initech")


def _change(sim: Simulator, n: int) -> int:
    """Edit one prospect and record a reply a while later; returns the edited prospect's id."""
    truth = sim.truth()
    sim.clock.advance(600)
    prospect = int(truth.prospects.id.iloc[n])
    sim.account.edit_prospect(prospect, title=f"Changed {n}")
    member = truth.campaign_prospects.iloc[n]
    sim.account.record_reply(int(member.prospect_id), int(member.campaign_id))
    sim.clock.advance(60)
    return prospect


def _busy_window(sim: Simulator, since: int = 0) -> tuple[float, float]:
    requests = sim.requests[since:]
    return min(r.started for r in requests), max(r.ended for r in requests)


def _union_counts(fleet: Fleet, mart: str) -> dict[str, int]:
    with duckdb.connect(str(fleet.duckdb_path), read_only=True) as con:
        rows = con.sql(f"SELECT account_id, COUNT(*) FROM woodpecker_all.{mart} GROUP BY 1").fetchall()
    return {str(a): int(n) for a, n in rows}


def _mart_count(fleet: Fleet, dataset: str, mart: str) -> int:
    with duckdb.connect(str(fleet.duckdb_path), read_only=True) as con:
        return int(con.sql(f"SELECT COUNT(*) FROM {dataset}.{mart}").fetchall()[0][0])


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["dataset", "column"])
def test_accounts_load_in_parallel_each_equal_to_its_own_truth(fleet: Fleet, layout: str) -> None:
    summary = fleet.workdir / "summary.json"
    code = fleet.load("--accounts", "all", "--account-layout", layout, "--summary-json", str(summary))
    assert code == ExitCode.OK
    record = json.loads(summary.read_text())
    assert sorted(record["accounts"]) == list(NAMES) and record["workers"] == 3
    truths = {name: sim.truth() for name, sim in fleet.sims.items()}
    # the accounts really differ, so a table holding another account's rows cannot pass the comparison
    assert len({frozenset(t.prospects.email) for t in truths.values()}) == len(NAMES)
    for name in NAMES:
        assert_matches_truth(account_loader(fleet, name, shared=layout == "column"), truth=truths[name])
        assert fleet.sims[name].max_concurrency == 1  # one request in flight per account
    # the accounts were served at the same time, not one after another
    windows = [_busy_window(sim) for sim in fleet.sims.values()]
    assert max(start for start, _ in windows) < min(end for _, end in windows)
    # marts per account, and all accounts together with account_id
    union = _union_counts(fleet, "campaign_performance")
    assert union == {n: _mart_count(fleet, f"woodpecker_{n}", "campaign_performance") for n in NAMES}
    assert union == {n: len(truths[n].campaigns) for n in NAMES}

    # second run: each account's own cursors, few requests, again equal to its truth
    for name in NAMES:
        assert record["accounts"][name]["rows_loaded"]["prospects"] == len(truths[name].prospects)
    edited = {name: _change(sim, n) for n, (name, sim) in enumerate(fleet.sims.items())}
    assert fleet.load("--accounts", "all", "--account-layout", layout, "--summary-json", str(summary)) == 0
    record = json.loads(summary.read_text())
    for name in NAMES:
        # incremental: the changed prospects (and the few inside the cursor's overlap) are read again
        assert 1 <= record["accounts"][name]["rows_loaded"]["prospects"] < len(truths[name].prospects) / 10
        loader = account_loader(fleet, name, shared=layout == "column")
        assert_matches_truth(loader)
        prospects = loader.table("prospects").set_index("id")
        assert prospects.loc[edited[name], "title"] == f"Changed {NAMES.index(name)}"


def test_one_failing_account_does_not_stop_the_others(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_key = "revoked-key-0123456789"
    monkeypatch.setenv("ACCOUNTS__REVOKED__API_KEY", bad_key)
    monkeypatch.setenv("ACCOUNTS__REVOKED__BASE_URL", fleet.sims["acme"].base_url)
    # the agency key with a company that is not the agency's client
    monkeypatch.setenv("ACCOUNTS__STRANGER__COMPANY_ID", "999")
    monkeypatch.setenv("ACCOUNTS__STRANGER__BASE_URL", fleet.sims["globex"].base_url)
    summary = fleet.workdir / "summary.json"
    code = fleet.load("--accounts", "all", "--workers", "2", "--summary-json", str(summary))
    out, err = capsys.readouterr()
    assert code == ExitCode.PARTIAL
    record = json.loads(summary.read_text())["accounts"]
    assert {n for n, r in record.items() if not r["ok"]} == {"revoked", "stranger"}
    assert record["revoked"]["exit_code"] == record["stranger"]["exit_code"] == ExitCode.AUTHENTICATION
    assert "401" in record["revoked"]["error"] and "403" in record["stranger"]["error"]
    assert "ACCOUNTS__REVOKED__API_KEY" in record["revoked"]["error"]
    for text in (out, err, summary.read_text()):
        assert bad_key not in text and AGENCY_KEY not in text
        assert all(sim.api_key not in text for sim in fleet.sims.values())
    assert "revoked" in out and "FAILED" in out
    for name in NAMES:
        assert_matches_truth(account_loader(fleet, name, shared=False))


def test_only_the_selected_accounts_are_loaded(fleet: Fleet) -> None:
    assert fleet.load("--accounts", "initech,acme", "--workers", "1", "--no-transform") == 0
    assert not fleet.sims["globex"].requests
    for name in ("acme", "initech"):
        assert_matches_truth(account_loader(fleet, name, shared=False))


def test_unknown_account_and_key_with_accounts_are_refused(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fleet.load("--accounts", "acme,nobody") == ExitCode.CONFIGURATION
    assert "nobody" in capsys.readouterr().err
    assert fleet.load("--accounts", "acme", "--api-key", "x") == ExitCode.CONFIGURATION
    spool = str(fleet.workdir / "spool")
    assert fleet.load("--accounts", "acme", "--webhook-spool", spool) == ExitCode.CONFIGURATION
    assert "ACCOUNTS__<NAME>__WEBHOOK_SPOOL" in capsys.readouterr().err
    assert fleet.load("--accounts", "acme", "--destination", "filesystem") == ExitCode.CONFIGURATION
    assert "load each account on its own" in capsys.readouterr().err
    column_refresh = ("--accounts", "all", "--account-layout", "column", "--full-refresh")
    assert fleet.load(*column_refresh) == ExitCode.CONFIGURATION
    assert "every account's rows" in capsys.readouterr().err
    assert not any(sim.requests for sim in fleet.sims.values())


def test_column_layout_reconciles_each_account_only_within_its_rows(fleet: Fleet) -> None:
    assert fleet.load("--accounts", "all", "--account-layout", "column", "--no-transform") == 0
    acme = fleet.sims["acme"]
    gone = int(acme.truth().prospects.id.iloc[0])
    acme.clock.advance(600)
    assert acme.account.delete_prospect(gone)
    acme.clock.advance(60)
    code = fleet.load("--accounts", "all", "--account-layout", "column", "--no-transform", "--reconcile")
    assert code == 0
    for name in NAMES:
        loader = account_loader(fleet, name, shared=True)
        assert_matches_truth(loader)  # live rows only: another account's rows flagged would be missing
        everything = loader.table("prospects", live_only=False)
        flagged = set(everything.loc[everything.deleted_at.notna(), "id"])
        assert flagged == ({gone} if name == "acme" else set())


def test_each_account_loads_only_its_own_webhook_spool(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    acme = fleet.sims["acme"].truth().prospects
    events = [
        {"method": "email_opened", "prospect": {"id": int(pid), "email": email}, "firm_id": 1}
        for pid, email in zip(acme.id.iloc[:5], acme.email.iloc[:5], strict=True)
    ]
    spool = fleet.workdir / "acme-spool"
    writer = SpoolWriter(spool)
    ids = writer.append(events, "2025-04-15T09:00:00+00:00")
    writer.close()
    monkeypatch.setenv("ACCOUNTS__ACME__WEBHOOK_SPOOL", str(spool))
    # a single-account spool setting must not reach the accounts of an --accounts load
    monkeypatch.setenv("SOURCES__WOODPECKER__WEBHOOK_SPOOL", str(spool))
    assert fleet.load("--accounts", "all", "--no-transform") == 0
    with duckdb.connect(str(fleet.duckdb_path), read_only=True) as con:
        tables = {
            (s, t)
            for s, t in con.sql("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
        loaded_ids = {r[0] for r in con.sql("SELECT event_id FROM woodpecker_acme.webhook_events").fetchall()}
    assert loaded_ids == set(ids) and len(ids) == 5
    assert {s for s, t in tables if t == "webhook_events" and not s.endswith("_staging")} == {
        "woodpecker_acme"
    }
