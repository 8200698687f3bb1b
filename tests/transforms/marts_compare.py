"""Compare every published mart of two destinations row by row (DuckDB, PostgreSQL or a lake's DuckDB)."""

from __future__ import annotations

import math
from typing import Any

from transforms import layout

from .raw import Row, read_table

# When each load captured the vendor statistics: two loads run at different moments.
LOAD_TIME_COLUMNS = {"reported_at"}
KEYS = {
    "campaign_performance": ["campaign_id"],
    "campaign_prospect_engagement": ["campaign_id", "prospect_id"],
    "prospect_engagement": ["prospect_id"],
    "campaign_daily_activity": ["campaign_id", "activity_date"],
    "company_engagement": ["email_domain"],
    "step_version_performance": ["campaign_id", "step_id", "version_id"],
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # a flag must be a boolean on both sides, not 1 / 0
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def assert_same_rows(mart: str, rows_l: list[Row], rows_r: list[Row]) -> None:
    """Two readings of one mart hold the same rows, in the same key order (floats to 1e-9, load-time
    columns skipped)."""
    assert len(rows_l) == len(rows_r) > 0, mart
    assert list(rows_l[0]) == list(rows_r[0]), f"{mart}: columns differ"
    for row_l, row_r in zip(rows_l, rows_r, strict=True):
        differing = [
            c
            for c in row_l
            if c not in LOAD_TIME_COLUMNS
            and not ((row_l[c] is None and row_r[c] is None) or _same(row_l[c], row_r[c]))
        ]
        assert not differing, (
            f"{mart} {[row_l[k] for k in KEYS[mart]]}: {[(c, row_l[c], row_r[c]) for c in differing]}"
        )


def assert_same_marts(left: Any, right: Any, dataset: str) -> None:
    """Every mart holds the same rows in both connections (floats to 1e-9, load-time columns skipped)."""
    for mart in layout.MARTS:
        assert_same_rows(
            mart, read_table(left, dataset, mart, KEYS[mart]), read_table(right, dataset, mart, KEYS[mart])
        )
