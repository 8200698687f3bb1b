"""Odd and hostile API answers, served over real HTTP to a full pipeline run into DuckDB.

Hypothesis writes the pages (unknown, missing and mistyped fields, odd time zones, long and non-ASCII
text, duplicate ids within and across pages); the run must finish, load every record that has a usable
id exactly once (the last one the API sent wins), keep what it could not type in `_unparsed`, keep
keyless records in `_rejected_records`, and report both counts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import parse_qs, urlparse

import dlt
import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sources.woodpecker import woodpecker_source
from sources.woodpecker.progress import RunStats

from .samples import PROSPECT
from .test_columnar import KINDS, expected_value, records

PER_PAGE = 10


@contextmanager
def serving(prospects: list[Any]) -> Iterator[str]:
    """A minimal v1 API on 127.0.0.1 that pages `prospects` in the given order (filters ignored)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/rest/v1/campaign_list":
                body: Any = []
            else:
                page, per_page = int(query.get("page", 1)), int(query.get("per_page", 100))
                body = prospects[(page - 1) * per_page : page * per_page]
                if not body:
                    body = {"message": "There are no prospects matching the given criteria."}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Total-Count", str(len(prospects)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def load(prospects: list[Any], workdir: Path) -> tuple[RunStats, duckdb.DuckDBPyConnection]:
    stats = RunStats()
    with serving(prospects) as base_url:
        pipeline = dlt.pipeline(
            pipeline_name="hostile",
            destination=dlt.destinations.duckdb(str(workdir / "hostile.duckdb")),
            dataset_name="woodpecker",
            pipelines_dir=str(workdir / "pipelines"),
        )
        source = woodpecker_source(
            api_key="hostile-test-key",
            base_url=base_url,
            per_page=PER_PAGE,
            backoff_factor=0.0,
            run_stats=stats,
        ).with_resources("prospects")
        pipeline.run(source)
    return stats, duckdb.connect(str(workdir / "hostile.duckdb"), read_only=True)


def table(con: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    exists = con.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'woodpecker' AND table_name = ?",
        params=[name],
    ).fetchone()
    if not exists or not exists[0]:
        return []
    relation = con.sql(f"SELECT * FROM woodpecker.{name}")
    return [dict(zip(relation.columns, values, strict=True)) for values in relation.fetchall()]


# Integers JSON allows but orjson does not read exactly (beyond 64 bits; beyond a double from 1e309), in
# typed, JSON and unknown fields, nested, as keys and in a bounced row's key that goes into the state.
HUGE_INTEGERS = [
    {**PROSPECT, "id": 1, "snippet1": [2**64, -(2**63) - 1], "organization_id": 10**30},
    {**PROSPECT, "id": 2, "email": {"nested": [10**30]}, "brand_new": {"a": [2**127, -(10**40)]}},
    {**PROSPECT, "id": 3, "snippet_labels": {"x": 2**100}, "new_field": 10**400, "tags": 2**64},
    {**PROSPECT, "id": "4", "first_name": 18446744073709551616, "encrypted": 10**20},
    {**PROSPECT, "id": -(2**63) - 1, "tags": [10**30]},
    {**PROSPECT, "id": 2**64, "status": "BOUNCED", "last_contacted": datetime.now(UTC).isoformat()},
    {**PROSPECT, "id": [10**30]},
    {**PROSPECT, "id": "--5"},
    {**PROSPECT, "id": "1" * 5000},
    {**PROSPECT, "id": 5, "x" * 300: "1" * 30 + "." + "1" * 30},
    {**PROSPECT, "id": 1, "snippet1": [2**64]},  # the last one of id 1 wins
]


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(HUGE_INTEGERS)
@given(st.lists(st.one_of(records(), st.just("not an object")), min_size=1, max_size=45))
def test_a_run_over_hostile_pages_loads_what_is_valid_and_keeps_the_rest(prospects: list[Any]) -> None:
    with TemporaryDirectory() as tmp:
        stats, con = load(prospects, Path(tmp))
        with con:
            loaded = {row["id"]: row for row in table(con, "prospects")}
            rejected = table(con, "_rejected_records")

    last: dict[int, dict[str, Any]] = {}
    keyless: set[str] = set()
    for record in prospects:
        ok, key = expected_value("int", record.get("id")) if isinstance(record, dict) else (False, None)
        if ok and key is not None:
            last[key] = record
        else:
            keyless.add(json.dumps(record, sort_keys=True, default=str))
    assert set(loaded) == set(last), "every usable id loaded exactly once"
    assert {json.dumps(json.loads(r["record"]), sort_keys=True, default=str) for r in rejected} == keyless
    assert stats.rows.get("prospects", 0) >= len(last)
    assert stats.rejected.get("prospects", 0) >= len(keyless)

    for key, record in last.items():
        row = loaded[key]
        kept = json.loads(row["_unparsed"]) if row["_unparsed"] else {}
        for name, kind in KINDS.items():
            ok, value = expected_value(kind, record.get(name))
            if kind == "timestamp" and value is not None:
                assert row[name].timestamp() == value.timestamp(), name
            else:
                assert row[name] == value, name
            if not ok:
                assert kept[name] == record[name], name
    if any(row["_unparsed"] for row in loaded.values()):
        assert stats.unparsed.get("prospects", 0) > 0
