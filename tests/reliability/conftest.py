"""Fixtures of the reliability tests: telemetry off, and the trial size (`RELIABILITY_SIZE=full`)."""

from __future__ import annotations

import os

import pytest

from .common import FULL, SMALL, Size

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"


@pytest.fixture
def size() -> Size:
    """SMALL in `make test`; FULL when RELIABILITY_SIZE=full (what `make soak` runs)."""
    return FULL if os.environ.get("RELIABILITY_SIZE") == "full" else SMALL
