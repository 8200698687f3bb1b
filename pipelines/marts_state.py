"""Whether the engagement tables (marts) match the raw tables: a one-row table `_woodpecker_marts`.

A load changes the raw tables first and rebuilds the marts last; a `--full-refresh` even drops the raw
tables before it reloads them. Whatever interrupts a load in between (a kill, a crash, a failed model)
would leave marts that show numbers the raw tables no longer hold. So as a load step starts, before it
drops or writes any raw table, the marts are marked *stale* with the reason (`pipelines/load_run.py`),
and only a finished rebuild marks them *current* again. `woodpecker-etl status` reports which; the next
`load` or `transform` rebuilds them.

The table lives in the dataset of the raw tables, next to the marts. Lake destinations (Parquet) keep
their marts in a separate DuckDB file and are not tracked here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.sql_client import SqlClientBase

import transforms
from sources.woodpecker import settings
from transforms.connection import client_dialect
from transforms.information_schema import dataset_columns, dataset_tables
from transforms.layout import SOURCES
from transforms.quoting import quote

from .lake import is_lake

TABLE = "_woodpecker_marts"
COLUMNS = (
    "stale BOOLEAN, reason VARCHAR(1000), changed_at TIMESTAMP WITH TIME ZONE, "
    "built_at TIMESTAMP WITH TIME ZONE, models VARCHAR(64)"
)


@dataclass(frozen=True)
class MartsState:
    """The marts' state as recorded in the destination.

    Attributes:
        stale: True when the raw tables changed (or started to) after the marts were last built.
        reason: What made them stale ("" when current).
        changed_at: When the state was last written.
        built_at: When the marts were last built completely (None: never recorded).
        models: `models_digest()` of the code that built them ("" when not recorded).
    """

    stale: bool
    reason: str
    changed_at: datetime | None
    built_at: datetime | None
    models: str = ""


@cache
def models_digest() -> str:
    """A digest of everything that decides what the marts hold: the model SQL, macros and build code."""
    root = Path(transforms.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".sql", ".py", ".yml")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def built_current(state: MartsState) -> bool:
    """Whether the marts match the raw tables and were built by the models installed now."""
    return not state.stale and state.models == models_digest()


def _tracked(pipeline: dlt.Pipeline) -> bool:
    return not is_lake(pipeline) and pipeline.default_schema_name is not None


def _write(
    client: SqlClientBase[Any], stale: bool, reason: str, built_at: datetime | None, models: str
) -> None:
    name = client.make_qualified_table_name(TABLE)
    # One row, rewritten whole; recreated so a table of an older release gains the `models` column.
    client.execute_sql(f"DROP TABLE IF EXISTS {name}")
    client.execute_sql(f"CREATE TABLE {name} ({COLUMNS})")
    client.execute_sql(
        f"INSERT INTO {name} VALUES (%s, %s, %s, %s, %s)", stale, reason, datetime.now(UTC), built_at, models
    )


def _read(client: SqlClientBase[Any]) -> MartsState | None:
    if TABLE not in dataset_tables(client.execute_sql, client.dataset_name, client_dialect(client)):
        return None
    name = client.make_qualified_table_name(TABLE)
    rows = client.execute_sql(f"SELECT * FROM {name}")  # an older release's table has no `models`
    if not rows:
        return None
    stale, reason, changed_at, built_at, *models = rows[0]
    return MartsState(
        bool(stale), str(reason or ""), changed_at, built_at, str(models[0] or "") if models else ""
    )


def mark_stale(pipeline: dlt.Pipeline, reason: str) -> None:
    """Record, before the raw tables change, that the marts no longer match them.

    Nothing is written when the dataset does not exist yet (then there are no marts either).
    """
    if not _tracked(pipeline):
        return
    with pipeline.sql_client() as client:
        if not client.has_dataset():
            return
        previous = _read(client)
        _write(client, True, reason, *((previous.built_at, previous.models) if previous else (None, "")))


def mark_current(pipeline: dlt.Pipeline) -> None:
    """Record that the marts were just rebuilt from the raw tables as they are."""
    if not _tracked(pipeline):
        return
    with pipeline.sql_client() as client:
        _write(client, False, "", datetime.now(UTC), models_digest())


def keep_current(pipeline: dlt.Pipeline, previous: MartsState) -> None:
    """Record that the marts still match the raw tables: the load changed nothing they read."""
    if not _tracked(pipeline):
        return
    with pipeline.sql_client() as client:
        _write(client, False, "", previous.built_at, previous.models)


# Dialects whose SQL can fingerprint a table's content cheaply (`hash` over a row, summed exactly).
FINGERPRINT_DIALECTS = ("duckdb",)
# Per raw table the models read: (table, rows, sum of the rows' hashes).
Fingerprint = tuple[tuple[str, int, int], ...]


def inputs_fingerprint(pipeline: dlt.Pipeline, tables: Collection[str] | None = None) -> Fingerprint | None:
    """A fingerprint of everything the models read: per raw table, its rows and the sum of their hashes.

    Only the columns of the models' contract count, without `_fetched_at`: a row fetched again unchanged
    leaves the fingerprint as it was (in the tracked dataset layout a table holds one row per key, so
    the fetch time orders nothing). None where the destination's dialect cannot compute it; the caller
    then rebuilds the marts as always.

    Args:
        pipeline: The pipeline whose dataset is fingerprinted.
        tables: Only these of the models' inputs (None: all). A load compares, after it wrote, only the
            tables it wrote to (`fingerprint_of`): the others are as they were.
    """
    if not _tracked(pipeline):
        return None
    with pipeline.sql_client() as client:
        dialect = client_dialect(client)
        if dialect not in FINGERPRINT_DIALECTS or not client.has_dataset():
            return None
        existing = dataset_columns(client.execute_sql, client.dataset_name, dialect)
        parts = []
        for table, contract in sorted(SOURCES.items()):
            if tables is not None and table not in tables:
                continue
            columns = [c for c in contract if c in existing.get(table, ()) and c != settings.FETCHED_AT]
            if not columns:
                continue
            row = ", ".join(quote(c) for c in columns)
            name = client.make_qualified_table_name(table)
            rows = client.execute_sql(f"SELECT COUNT(*), SUM(CAST(hash({row}) AS HUGEINT)) FROM {name}")
            count, total = rows[0] if rows else (0, 0)
            parts.append((table, int(count or 0), int(total or 0)))
        return tuple(parts)


def fingerprint_of(fingerprint: Fingerprint, tables: Collection[str]) -> Fingerprint:
    """The part of an `inputs_fingerprint` that covers `tables`."""
    return tuple(part for part in fingerprint if part[0] in tables)


def read_marts_state(pipeline: dlt.Pipeline) -> MartsState | None:
    """The recorded state of the marts, or None when nothing is recorded (or the destination is a lake)."""
    if not _tracked(pipeline):
        return None
    with pipeline.sql_client() as client:
        return _read(client)


def marts_line(state: MartsState | None) -> str | None:
    """The line `status` prints about the marts, or None when nothing is recorded."""
    if state is None:
        return None
    if not state.stale:
        built = f" (built {state.built_at:%Y-%m-%d %H:%M:%S %Z})" if state.built_at else ""
        return f"  engagement tables: current{built}"
    return (
        f"  engagement tables: STALE, they do not match the raw tables ({state.reason}); "
        "run `woodpecker-etl load` or `woodpecker-etl transform` to rebuild them"
    )
