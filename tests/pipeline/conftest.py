"""Fixtures of the command-line tests: the shared PostgreSQL server of the transform tests."""

from __future__ import annotations

from tests.transforms.conftest import postgres_dsn, postgres_server

__all__ = ["postgres_dsn", "postgres_server"]
