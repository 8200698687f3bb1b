"""`woodpecker-etl transform --accounts` and `status --accounts`: what `load --accounts` builds and loaded."""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pytest

from pipelines.exit_codes import ExitCode
from pipelines.lock import pipeline_lock
from transforms.catalog import load_models

from .conftest import AGENCY_KEY, Fleet

NAMES = ("acme", "globex", "initech")
MARTS = tuple(m.name for m in load_models() if m.layer == "marts")


def _tables(fleet: Fleet) -> set[tuple[str, str]]:
    with duckdb.connect(str(fleet.duckdb_path), read_only=True) as con:
        rows = con.sql("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    return {(str(s), str(t)) for s, t in rows}


def _marts(fleet: Fleet) -> dict[tuple[str, str], pd.DataFrame]:
    """Every account's marts and every cross-account view, rows sorted so that builds can be compared."""
    frames = {}
    with duckdb.connect(str(fleet.duckdb_path), read_only=True) as con:
        for dataset in [f"woodpecker_{n}" for n in NAMES] + ["woodpecker_all"]:
            for mart in MARTS:
                frames[dataset, mart] = con.sql(f"SELECT * FROM {dataset}.{mart} ORDER BY ALL").df()
    return frames


def _union_counts(fleet: Fleet, mart: str) -> dict[str, int]:
    with duckdb.connect(str(fleet.duckdb_path), read_only=True) as con:
        rows = con.sql(f"SELECT account_id, COUNT(*) FROM woodpecker_all.{mart} GROUP BY 1").fetchall()
    return {str(a): int(n) for a, n in rows}


def _status_blocks(out: str) -> dict[str, str]:
    """`status --accounts` output split into account name → its block."""
    parts = re.split(r"^Account (\w+)$", out, flags=re.MULTILINE)
    return {name: block for name, block in zip(parts[1::2], parts[2::2], strict=True)}


def _rows_in(block: str, table: str) -> int:
    match = re.search(rf"^\s+{table}\s+([\d,]+)$", block, flags=re.MULTILINE)
    assert match, block
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("layout", ["dataset", "column"])
def test_transform_accounts_builds_what_load_builds_and_status_shows_each_account(
    fleet: Fleet, layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fleet.load("--accounts", "all", "--account-layout", layout, "--no-transform") == ExitCode.OK
    assert not {(s, t) for s, t in _tables(fleet) if t == "campaign_performance"}
    capsys.readouterr()

    assert fleet.run("transform", "--accounts", "all", "--account-layout", layout) == ExitCode.OK
    out = capsys.readouterr().out
    assert all(re.search(rf"^\s+{n}\s+ok\s", out, flags=re.MULTILINE) for n in NAMES), out
    truths = {name: sim.truth() for name, sim in fleet.sims.items()}
    assert _union_counts(fleet, "campaign_performance") == {n: len(truths[n].campaigns) for n in NAMES}
    rebuilt = _marts(fleet)
    for name in NAMES:
        assert len(rebuilt[f"woodpecker_{name}", "campaign_performance"]) == len(truths[name].campaigns)

    # a load with its engagement tables over the same data builds exactly the same marts and views
    assert fleet.load("--accounts", "all", "--account-layout", layout) == ExitCode.OK
    by_load = _marts(fleet)
    assert by_load.keys() == rebuilt.keys()
    for key, frame in by_load.items():
        pd.testing.assert_frame_equal(rebuilt[key], frame, obj=str(key))
    capsys.readouterr()

    assert fleet.run("status", "--accounts", "all", "--account-layout", layout) == ExitCode.OK
    out, err = capsys.readouterr()
    blocks = _status_blocks(out)
    assert list(blocks) == list(NAMES)
    for name in NAMES:
        assert f"Pipeline woodpecker_{name}" in blocks[name]
        assert "last run:" in blocks[name] and "prospects:" in blocks[name]  # last run, cursors
        assert _rows_in(blocks[name], "prospects") == len(truths[name].prospects)
        assert _rows_in(blocks[name], "campaigns") == len(truths[name].campaigns)
    for text in (out, err):
        assert AGENCY_KEY not in text and all(sim.api_key not in text for sim in fleet.sims.values())


def test_transform_accounts_needs_no_key_and_reports_each_failing_account(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fleet.load("--accounts", "acme", "--no-transform") == ExitCode.OK
    # no key at all now: acme stays configured by its base_url, globex by its company id
    monkeypatch.delenv("ACCOUNTS__ACME__API_KEY")
    monkeypatch.delenv("ACCOUNTS__AGENCY_KEY")
    capsys.readouterr()
    # globex and initech were never loaded: they fail, acme is built and the views cover it
    assert fleet.run("transform", "--accounts", "all") == ExitCode.PARTIAL
    out = capsys.readouterr().out
    assert re.search(r"^\s+acme\s+ok\s", out, flags=re.MULTILINE), out
    for name in ("globex", "initech"):
        assert re.search(rf"^\s+{name}\s+FAILED\s", out, flags=re.MULTILINE)
        assert f"run `woodpecker-etl load --accounts {name}` first" in out
    assert _union_counts(fleet, "campaign_performance") == {"acme": len(fleet.sims["acme"].truth().campaigns)}
    assert ("woodpecker_globex", "campaign_performance") not in _tables(fleet)

    # the account's pipeline lock is taken, as by `transform` of one pipeline
    with pipeline_lock(str(fleet.workdir / "pipelines"), "woodpecker_acme"):
        assert fleet.run("transform", "--accounts", "acme") == ExitCode.BUSY
    assert "in progress" in capsys.readouterr().out

    # status of accounts never loaded: said so, no failure
    assert fleet.run("status", "--accounts", "globex") == ExitCode.OK
    assert "no run recorded" in capsys.readouterr().out


def test_transform_and_status_refuse_unknown_accounts(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("transform", "status"):
        assert fleet.run(command, "--accounts", "acme,nobody") == ExitCode.CONFIGURATION
        assert "nobody" in capsys.readouterr().err
        lake = ("--accounts", "all", "--destination", "filesystem")
        assert fleet.run(command, *lake) == ExitCode.CONFIGURATION
        assert "load each account on its own" in capsys.readouterr().err
    assert not any(sim.requests for sim in fleet.sims.values())
