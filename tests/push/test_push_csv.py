"""`push --file` reads the CSV files people have: spreadsheet exports, their headers, their mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.exit_codes import ExitCode
from pipelines.push.inputs import csv_delimiter
from simulator import Simulator

from .conftest import email_index, has_results_table, push_cli, results, write_posts

# A European spreadsheet export: `;` between cells, a decimal comma in a cell, headers as people write
# them, a byte-order mark, CRLF line ends.
EUROPEAN = (
    "\ufeffE-mail;First Name;LastName;COMPANY;Snippet 1\r\n"
    "zofia.nowak@example.pl;Zofia;Nowak;Kowalski, Nowak i Wspólnicy;3,5 mln zł\r\n"
    "jan.kowalski@example.pl;Jan;Kowalski;Atlas;\r\n"
)


def test_a_semicolon_export_with_spreadsheet_headers_is_pushed(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(EUROPEAN.encode())
    assert push_cli(sim, tmp_path, "--file", str(path)) == ExitCode.OK
    out = capsys.readouterr().out
    assert "Read 2 rows from file leads.csv: 2 valid, 0 invalid" in out
    index = email_index(sim)
    zofia = sim.account.prospects[index["zofia.nowak@example.pl"]].fields
    assert (zofia["first_name"], zofia["last_name"], zofia["company"], zofia["snippet1"]) == (
        "Zofia",
        "Nowak",
        "Kowalski, Nowak i Wspólnicy",
        "3,5 mln zł",
    )
    assert sim.account.prospects[index["jan.kowalski@example.pl"]].fields["company"] == "Atlas"
    assert {r["outcome"] for r in results(tmp_path)} == {"added"}


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("email,first_name\na@example.org,Ann\n", ","),
        ("email;first_name\na@example.org;Ann, Jr\n", ";"),
        ("email\tfirst_name\na@example.org\tAnn\n", "\t"),
        ("email|first_name\na@example.org|Ann\n", "|"),
        ("email\na@example.org\n", ","),
        ("email;first_name\n", ";"),
    ],
)
def test_the_delimiter_is_detected(text: str, delimiter: str) -> None:
    assert csv_delimiter(text) == delimiter


def test_a_file_without_an_email_column_is_refused_as_a_whole(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("Name;Mail;Company\nAnn;ann@example.org;Acme\n")
    assert push_cli(sim, tmp_path, "--file", str(path)) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "file contacts.csv has no email column (found: 'Name', 'Mail', 'Company')" in lines[0]
    assert "name the column that holds the addresses email" in lines[0]
    assert write_posts(sim) == [] and not has_results_table(tmp_path)


@pytest.mark.parametrize("dry_run", [False, True])
def test_nothing_valid_to_send_exits_non_zero(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], dry_run: bool
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("email,first_name\nnot-an-address,Ann\n,Bob\n")
    extra = ["--dry-run"] if dry_run else []
    assert push_cli(sim, tmp_path, "--file", str(path), *extra) == ExitCode.CONFIGURATION
    out, err = capsys.readouterr()
    assert "row 1 (not-an-address): invalid email format" in out and "row 2: email is missing" in out
    assert "error: Nothing to push: none of the 2 rows of file broken.csv is valid" in err
    assert write_posts(sim) == []
    if not dry_run:  # the refused rows are still recorded with their reasons
        assert [r["outcome"] for r in results(tmp_path)] == ["invalid", "invalid"]


def test_a_file_that_is_not_utf8_names_the_fix(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("email;last_name\nanna@example.de;Müller\n".encode("cp1252"))
    assert push_cli(sim, tmp_path, "--file", str(path)) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert "legacy.csv is not UTF-8 text" in err and "CSV UTF-8" in err
