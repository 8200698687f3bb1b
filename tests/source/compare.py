"""Compare loaded tables with the simulator's ground truth, column by column.

Normalisation happens only here: missing values (None, NaN, NaT, pandas NA) become None, timestamps
become aware UTC `datetime`s, JSON text becomes Python values, numpy scalars become Python scalars.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
import numpy as np
import pandas as pd

from sources.woodpecker_tables import TABLES

# Columns declared as JSON: loaded as JSON text, compared as parsed values.
JSON_COLUMNS = {c.name for table in TABLES for c in table.columns if c.data_type == "json"}


def norm(value: Any, column: str = "") -> Any:
    """One value in a comparable form."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    kind = type(value)
    if kind is str:
        if column in JSON_COLUMNS:
            return json.loads(value)
        return value or None
    if kind is bool or kind is int:
        return value
    if kind is float:
        return None if math.isnan(value) else value
    if isinstance(value, datetime):  # includes pandas Timestamps
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, np.ndarray):
        return [norm(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return norm(value.item(), column)
    return value


def records(
    frame: pd.DataFrame, columns: Sequence[str], key: Sequence[str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows of `frame` by key, restricted to `columns`, normalised."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in frame.to_dict("records"):
        k = tuple(norm(row[c]) for c in key)
        assert k not in out, f"duplicate key {k}"
        out[k] = {c: norm(row.get(c), c) for c in columns}
    return out


def loaded(pipeline: dlt.Pipeline, table: str, live_only: bool = True) -> pd.DataFrame:
    """A destination table as a DataFrame (rows flagged deleted left out when `live_only`)."""
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        columns = [c for c in pipeline.default_schema.get_table_columns(table)]
        where = " WHERE deleted_at IS NULL" if live_only and "deleted_at" in columns else ""
        rows = client.execute_sql(f"SELECT {', '.join(columns)} FROM {name}{where}") or []
    return pd.DataFrame([list(r) for r in rows], columns=columns)


def assert_same(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    key: Sequence[str],
    columns: Iterable[str] | None = None,
    rename: dict[str, str] | None = None,
    skip: Iterable[str] = (),
    allow_extra: Iterable[tuple[Any, ...]] = (),
) -> list[str]:
    """Assert equal keys and equal values in every compared column; returns the columns compared.

    Args:
        actual: Loaded table.
        expected: Truth table.
        key: Key columns (names in `actual`).
        columns: Columns to compare (default: every truth column also present in `actual`).
        rename: Truth column → loaded column.
        skip: Truth columns not to compare.
        allow_extra: Keys that may be loaded although the truth no longer has them.
    """
    expected = expected.rename(columns=rename or {})
    compared = [
        c
        for c in (columns or expected.columns)
        if c in actual.columns and c not in key and c not in set(skip)
    ]
    assert compared, "nothing to compare"
    got = records(actual, compared, key)
    want = records(expected, compared, key)
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want) - set(allow_extra))[:5]
    assert not missing and not extra, f"keys differ: missing {missing} …, extra {extra} …"
    diffs = [(k, c, got[k][c], want[k][c]) for k in want for c in compared if got[k][c] != want[k][c]]
    assert not diffs, f"{len(diffs)} values differ, e.g. {diffs[:5]}"
    return compared
