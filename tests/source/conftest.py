"""Fixtures of the source tests: telemetry off, fast retries, and the shared PostgreSQL server."""

from __future__ import annotations

import os

from tests.transforms.conftest import postgres_dsn, postgres_server

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

__all__ = ["postgres_dsn", "postgres_server"]
