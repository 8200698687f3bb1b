"""The `push_results` table: one row per input row and push, written batch by batch.

A batch's rows are loaded before the next batch is sent, so the batch numbers present for a push id are
exactly the batches Woodpecker has answered; a push run again skips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.destinations.exceptions import DatabaseUndefinedRelation

TABLE = "push_results"
# Batch number of the rows refused by local validation (sent batches count from 1).
INVALID_BATCH = 0
INVALID = "invalid"

COLUMNS: TTableSchemaColumns = {
    "push_id": {"data_type": "text", "nullable": False},
    "batch": {"data_type": "bigint", "nullable": False},
    "pushed_at": {"data_type": "timestamp", "nullable": False},
    "target": {"data_type": "text", "nullable": False},
    "row_number": {"data_type": "bigint", "nullable": False},
    "email": {"data_type": "text", "nullable": True},
    "prospect_id": {"data_type": "bigint", "nullable": True},
    "outcome": {"data_type": "text", "nullable": False},
    "code": {"data_type": "text", "nullable": True},
    "message": {"data_type": "text", "nullable": True},
}


@dataclass(frozen=True)
class ResultRow:
    """One row of `push_results` (see docs/push.md for the meaning of each column)."""

    push_id: str
    batch: int
    pushed_at: datetime
    target: str
    row_number: int
    email: str | None
    prospect_id: int | None
    outcome: str
    code: str | None
    message: str | None


def finish_pending(pipeline: dlt.Pipeline) -> None:
    """Load result rows an interrupted push left extracted but not loaded, before reading what is done."""
    if pipeline.has_pending_data:
        pipeline.run()


def record(pipeline: dlt.Pipeline, rows: Sequence[ResultRow], loader_file_format: Any = None) -> None:
    """Append rows to `push_results` (one load; the table is created on first use)."""
    resource = dlt.resource(
        [asdict(row) for row in rows], name=TABLE, write_disposition="append", columns=COLUMNS
    )
    pipeline.run(resource, loader_file_format=loader_file_format)


def _query(pipeline: dlt.Pipeline, sql_template: str) -> list[tuple[Any, ...]]:
    """Rows of a query on `push_results`; none when the dataset or table does not exist yet."""
    with pipeline.sql_client() as client:
        if not client.has_dataset():
            return []
        sql = sql_template.format(table=client.make_qualified_table_name(TABLE))
        try:
            with client.execute_query(sql) as cursor:
                return list(cursor.fetchall())
        except DatabaseUndefinedRelation:
            return []


def _check_id(push_id: str) -> str:
    # Push ids are hex digests made here; checked so they can be inlined (paramstyles differ by driver).
    if not push_id or any(c not in "0123456789abcdef" for c in push_id):
        raise ValueError(f"not a push id: {push_id!r}")
    return push_id


def completed_batches(pipeline: dlt.Pipeline, push_id: str) -> set[int]:
    """Batch numbers of this push already recorded (0 = the invalid rows)."""
    sql = f"SELECT DISTINCT batch FROM {{table}} WHERE push_id = '{_check_id(push_id)}'"
    return {int(row[0]) for row in _query(pipeline, sql)}


def outcome_counts(pipeline: dlt.Pipeline, push_id: str) -> dict[str, int]:
    """Rows per outcome over every run of this push."""
    sql = (
        f"SELECT outcome, COUNT(*) FROM {{table}} WHERE push_id = '{_check_id(push_id)}' "
        "GROUP BY outcome ORDER BY COUNT(*) DESC, outcome"
    )
    return {str(outcome): int(count) for outcome, count in _query(pipeline, sql)}


def count_line(counts: Iterable[tuple[str, int]]) -> str:
    """`added 990, duplicate 8, E_INV_STATUS 2` (or `none`)."""
    parts = [f"{outcome} {count:,}" for outcome, count in counts]
    return ", ".join(parts) if parts else "none"
