"""`woodpecker-etl push` end to end: table, query, CSV and Parquet inputs; dry run; force; errors; a load."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from pipelines.exit_codes import ExitCode
from simulator import NO_ADDON_API_KEY, Simulator

from .conftest import (
    campaign_with_members,
    email_index,
    has_results_table,
    push_cli,
    results,
    write_posts,
)

LEADS = [
    {
        "email": "jared@piedpiper.com",
        "first_name": "Jared",
        "company": "Pied Piper",
        "snippet1": "board",
        "snippet15": "",
    },
    {
        "email": "erlich@bachman.com",
        "first_name": "Erlich",
        "company": "Aviato",
        "snippet1": "",
        "snippet15": "last",
    },
    {"email": "erlichbachman.com", "first_name": "Bad", "company": "", "snippet1": "", "snippet15": ""},
    {
        "email": "dinesh@piedpiper.com",
        "first_name": "Dinesh",
        "company": "Pied Piper",
        "snippet1": "",
        "snippet15": "",
    },
    {
        "email": "gilfoyle@piedpiper.com",
        "first_name": "Bertram",
        "company": "",
        "snippet1": "",
        "snippet15": "",
    },
]
GOOD = ["dinesh@piedpiper.com", "erlich@bachman.com", "gilfoyle@piedpiper.com", "jared@piedpiper.com"]


def _leads_table(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "wp.duckdb")) as con:
        con.sql("CREATE SCHEMA woodpecker")
        con.sql(
            "CREATE TABLE woodpecker.leads (email VARCHAR, first_name VARCHAR, company VARCHAR, "
            "snippet1 VARCHAR, snippet15 VARCHAR, score INTEGER)"
        )
        for n, lead in enumerate(LEADS):
            con.execute(
                "INSERT INTO woodpecker.leads VALUES (?, ?, ?, ?, ?, ?)",
                [*(value or None for value in lead.values()), n],
            )  # fmt: skip


def _assert_pushed_to_database(sim: Simulator, tmp_path: Path, invalid: int = 1) -> None:
    index = email_index(sim)
    rows = results(tmp_path)
    sent = [r for r in rows if r["batch"] > 0]
    assert sorted(r["email"] for r in sent) == GOOD
    assert all(r["outcome"] == "added" and r["prospect_id"] == index[r["email"]] for r in sent)
    assert len([r for r in rows if r["outcome"] == "invalid"]) == invalid
    jared = sim.account.prospects[index["jared@piedpiper.com"]].fields
    assert (jared["first_name"], jared["company"], jared["snippet1"]) == ("Jared", "Pied Piper", "board")
    assert sim.account.prospects[index["erlich@bachman.com"]].fields["snippet15"] == "last"


def test_push_a_csv_file_to_the_database(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "leads.csv"
    header = list(LEADS[0])
    csv.write_text(
        "\n".join([",".join(header)] + [",".join(lead[h] for h in header) for lead in LEADS]) + "\n"
    )
    assert push_cli(sim, tmp_path, "--file", str(csv), "--batch-size", "3") == ExitCode.OK
    out = capsys.readouterr().out
    _assert_pushed_to_database(sim, tmp_path)
    assert [r.status for r in write_posts(sim)] == [200, 200]  # batches of 3 and 1
    assert "5 rows from file leads.csv: 4 valid, 1 invalid" in out
    assert "row 3 (erlichbachman.com): invalid email format" in out
    assert "Outcomes: added 4, invalid 1." in out


def test_push_a_parquet_file_to_the_database(sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "leads.parquet"
    table = pa.Table.from_pylist([{k: (v or None) for k, v in lead.items()} for lead in LEADS])
    pq.write_table(table, path)
    assert push_cli(sim, tmp_path, "--file", str(path)) == ExitCode.OK
    _assert_pushed_to_database(sim, tmp_path)
    assert len(write_posts(sim)) == 1


def test_push_a_destination_query(sim: Simulator, tmp_path: Path) -> None:
    _leads_table(tmp_path)
    query = "SELECT email, first_name, company, snippet1, snippet15 FROM leads"
    assert push_cli(sim, tmp_path, "--query", query) == ExitCode.OK
    _assert_pushed_to_database(sim, tmp_path)


def test_unknown_columns_make_rows_invalid(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _leads_table(tmp_path)
    assert push_cli(sim, tmp_path, "--table", "leads") == ExitCode.CONFIGURATION  # nothing valid to send
    out = capsys.readouterr().out
    assert "Unknown columns (rows with a value in them are not sent): score" in out
    assert write_posts(sim) == []
    rows = results(tmp_path)
    assert len(rows) == len(LEADS) and {r["outcome"] for r in rows} == {"invalid"}
    assert all("unknown column 'score'" in r["message"] for r in rows)


def test_push_a_table_to_a_campaign_then_load_finds_them(sim: Simulator, tmp_path: Path) -> None:
    _leads_table(tmp_path)
    with duckdb.connect(str(tmp_path / "wp.duckdb")) as con:
        con.sql("ALTER TABLE woodpecker.leads DROP COLUMN score")
    cid = campaign_with_members(sim)
    assert (
        push_cli(sim, tmp_path, "--table", "leads", "--campaign-id", str(cid), "--batch-size", "2")
        == ExitCode.OK
    )
    index = email_index(sim)
    assert all((index[email], cid) in sim.account.memberships for email in GOOD)
    assert {r["batch"] for r in results(tmp_path)} == {0, 1, 2}
    where = ["--duckdb-path", str(tmp_path / "wp.duckdb"), "--pipelines-dir", str(tmp_path / "pipelines")]
    load = ["load", "--base-url", sim.base_url, "--api-key", sim.api_key, "--no-transform", *where]
    assert main(load) == ExitCode.OK
    with duckdb.connect(str(tmp_path / "wp.duckdb"), read_only=True) as con:
        loaded = dict(con.sql("SELECT email, id FROM woodpecker.prospects").fetchall())
        members = set(
            con.sql("SELECT prospect_id, campaign_id FROM woodpecker.campaign_prospects").fetchall()
        )
        recorded = dict(
            con.sql("SELECT email, prospect_id FROM woodpecker.push_results WHERE batch > 0").fetchall()
        )
    assert {email: loaded[email] for email in GOOD} == recorded
    assert all((recorded[email], cid) in members for email in GOOD)


def test_dry_run_sends_and_writes_nothing(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "email,status,interested\nok@example.org,PAUSED,maybe-later\nbad@,ACTIVE,\nno@example.org,REPLIED,\n"
    )
    code = push_cli(
        sim, tmp_path, "--file", str(csv), "--campaign-id", str(campaign_with_members(sim)), "--dry-run"
    )
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert sim.requests == [] and not has_results_table(tmp_path)
    assert "Dry run: nothing sent. Would send 1 of 1 batches" in out
    assert "row 2 (bad@): invalid email format" in out
    assert "row 3 (no@example.org): status 'REPLIED' is not one of ACTIVE, PAUSED" in out
    assert '"interested": "MAYBE_LATER"' in out and '"status": "PAUSED"' in out


def test_force_is_announced_and_enrols_a_replied_prospect(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = campaign_with_members(sim)
    replied = next(
        p
        for p in sim.account.prospects.values()
        if p.status == "REPLIED" and (p.id, cid) not in sim.account.memberships
    )
    csv = tmp_path / "replied.csv"
    csv.write_text(f"email\n{replied.fields['email']}\n")
    assert push_cli(sim, tmp_path, "--file", str(csv), "--campaign-id", str(cid)) == ExitCode.OK
    first = capsys.readouterr()
    assert "--force" not in first.err
    assert [(r["outcome"], r["prospect_id"]) for r in results(tmp_path)] == [("E_INV_STATUS", replied.id)]
    assert (replied.id, cid) not in sim.account.memberships
    assert push_cli(sim, tmp_path, "--file", str(csv), "--campaign-id", str(cid), "--force") == ExitCode.OK
    assert "warning: --force enrols prospects whose global status is not ACTIVE" in capsys.readouterr().err
    assert (replied.id, cid) in sim.account.memberships


def test_force_without_a_campaign_is_refused(sim: Simulator, tmp_path: Path) -> None:
    csv = tmp_path / "one.csv"
    csv.write_text("email\na@example.org\n")
    assert push_cli(sim, tmp_path, "--file", str(csv), "--force") == ExitCode.CONFIGURATION
    assert sim.requests == []


@pytest.mark.parametrize("key", ["wrong-key-3f9a", NO_ADDON_API_KEY])
def test_rejected_key_exits_with_authentication_code_and_never_prints_it(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    csv = tmp_path / "one.csv"
    csv.write_text("email\na@example.org\n")
    assert push_cli(sim, tmp_path, "--file", str(csv), key=key) == ExitCode.AUTHENTICATION
    out, err = capsys.readouterr()
    assert key not in out + err
    assert not has_results_table(tmp_path) or results(tmp_path) == []


def test_unknown_campaign_exits_with_api_code_and_records_no_batch(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "one.csv"
    csv.write_text("email\na@example.org\n")
    assert push_cli(sim, tmp_path, "--file", str(csv), "--campaign-id", "1") == ExitCode.API
    assert "E_RECORD_NOT_FOUND" in capsys.readouterr().err
    assert not has_results_table(tmp_path) or results(tmp_path) == []


def test_key_from_the_environment_is_used_and_not_stored(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCES__WOODPECKER__API_KEY", sim.api_key)
    csv = tmp_path / "one.csv"
    csv.write_text("email\nenv.key@example.org\n")
    where = ["--duckdb-path", str(tmp_path / "wp.duckdb"), "--pipelines-dir", str(tmp_path / "pipelines")]
    args = ["push", "--file", str(csv), "--base-url", sim.base_url, *where]
    assert main(args) == ExitCode.OK
    out, err = capsys.readouterr()
    assert sim.api_key not in out + err
    assert sim.api_key not in (tmp_path / "wp.duckdb").read_bytes().decode("latin-1")
    assert "env.key@example.org" in email_index(sim)


def test_a_missing_table_is_a_destination_error(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _leads_table(tmp_path)
    assert push_cli(sim, tmp_path, "--table", "no_such_table") == ExitCode.DESTINATION
    assert "no_such_table" in capsys.readouterr().err
    assert sim.requests == []
