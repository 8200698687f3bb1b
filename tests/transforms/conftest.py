"""Fixtures for the engagement-model tests: DuckDB connections and a throwaway PostgreSQL 15 server.

`postgres_server` (session scope) is generic: any test package can use it by importing it from here
(`from tests.transforms.conftest import postgres_server`) or moving it to a shared conftest.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from .postgres_server import PostgresServer, PostgresUnavailable, running_postgres

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

DATASET = "woodpecker"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session (trust auth, user `postgres`)."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):  # CI machines have PostgreSQL 15: its absence is a failure there
            raise
        pytest.skip(f"PostgreSQL binaries not installed: {exc}")


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session server; dropped after the test."""
    import psycopg2

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_server.dsn())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.dsn(name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_conn(postgres_dsn: str) -> Iterator[Any]:
    """A psycopg2 connection (autocommit) to a fresh database."""
    import psycopg2

    conn = psycopg2.connect(postgres_dsn)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection."""
    conn = duckdb.connect()
    try:
        yield conn
    finally:
        conn.close()
