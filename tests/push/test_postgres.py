"""A push reading its input from, and writing `push_results` to, PostgreSQL (a real server)."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from pipelines.cli import main
from pipelines.exit_codes import ExitCode
from simulator import Simulator
from tests.transforms.conftest import postgres_dsn, postgres_server

from .conftest import email_index

__all__ = ["postgres_dsn", "postgres_server"]


@pytest.mark.slow
def test_push_a_postgres_table(
    sim: Simulator, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg2.connect(postgres_dsn) as con, con.cursor() as cur:
        cur.execute("CREATE SCHEMA woodpecker")
        cur.execute("CREATE TABLE woodpecker.leads (email text, company text, snippet7 text)")
        cur.execute(
            "INSERT INTO woodpecker.leads VALUES ('pg.one@example.org', 'Pg Inc', 's7'), "
            "('pg.two@example.org', NULL, NULL), ('not-an-email', NULL, NULL)"
        )
    # the test server trusts local connections; dlt insists on a password being present
    monkeypatch.setenv(
        "DESTINATION__POSTGRES__CREDENTIALS", postgres_dsn.replace("postgres@", "postgres:trust@", 1)
    )
    args = ["push", "--table", "leads", "--destination", "postgres", "--base-url", sim.base_url,
            "--api-key", sim.api_key, "--pipelines-dir", str(tmp_path / "pipelines")]  # fmt: skip
    assert main(args) == ExitCode.OK
    index = email_index(sim)
    assert sim.account.prospects[index["pg.one@example.org"]].fields["snippet7"] == "s7"
    with psycopg2.connect(postgres_dsn) as con, con.cursor() as cur:
        cur.execute("SELECT email, prospect_id, outcome FROM woodpecker.push_results ORDER BY email")
        rows = cur.fetchall()
    assert rows == [
        ("not-an-email", None, "invalid"),
        ("pg.one@example.org", index["pg.one@example.org"], "added"),
        ("pg.two@example.org", index["pg.two@example.org"], "added"),
    ]
    assert main(args) == ExitCode.OK  # the rerun finds both batches recorded in PostgreSQL
    assert len([r for r in sim.requests if r.path.startswith("/rest/v1/add_prospects")]) == 1
