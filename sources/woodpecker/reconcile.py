"""Flag rows deleted in Woodpecker, after a load, from the full scans recorded in source state.

Woodpecker has no delete feed. A full scan re-fetches every live record, so after a *consistent* full
scan that started at `T`, a row whose `_fetched_at` is still older than `T` no longer exists in
Woodpecker. `apply_reconciliation` runs, per table:

    UPDATE <table> SET deleted_at = T WHERE deleted_at IS NULL AND _fetched_at < T

The statement is portable (DuckDB, PostgreSQL, …) and idempotent: running it again after later loads
flags nothing new, since every row written since `T` has a later `_fetched_at`. A record that reappears in
a later load is written with `deleted_at` NULL again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import dlt

from . import settings
from .helpers import as_datetime

logger = logging.getLogger(__name__)

SOURCE_NAME = "woodpecker"


def pending_reconciliation(pipeline: dlt.Pipeline) -> dict[str, dict[str, Any]]:
    """The last full scan recorded per table in the pipeline's source state."""
    sources = pipeline.state.get("sources", {})
    source_state: Mapping[str, Any] = sources.get(SOURCE_NAME, {})
    records = source_state.get("reconcile", {})
    return {table: dict(record) for table, record in records.items() if table in settings.RECONCILED_TABLES}


def apply_reconciliation(pipeline: dlt.Pipeline, scope: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Mark rows that a consistent full scan did not see as deleted.

    Args:
        pipeline: The pipeline that loaded the Woodpecker source (its destination must be a SQL one).
        scope: Column → value conditions limiting the rows this pipeline owns, for tables that several
            pipelines share (e.g. `{"account_id": "acme"}`); None: every row is the pipeline's.

    Returns:
        Rows newly flagged per table (0 for tables whose last full scan was inconsistent or that hold
        nothing to flag). Tables without a recorded full scan are left out.
    """
    records = pending_reconciliation(pipeline)
    flagged: dict[str, int] = {}
    if not records or not pipeline.default_schema_name:
        return flagged
    schema = pipeline.default_schema
    with pipeline.sql_client() as client:
        for table, record in sorted(records.items()):
            started = as_datetime(record.get("started_at"))
            columns = schema.get_table_columns(table) if table in schema.tables else {}
            if started is None or settings.DELETED_AT not in columns or settings.FETCHED_AT not in columns:
                continue
            if not record.get("consistent"):
                logger.info("Not reconciling %s: its last full scan was not consistent", table)
                flagged[table] = 0
                continue
            name = client.make_qualified_table_name(table)
            where = f"{settings.DELETED_AT} IS NULL AND {settings.FETCHED_AT} < %s"
            scoped = [column for column in scope or {} if column in columns]
            where += "".join(f" AND {client.escape_column_name(column)} = %s" for column in scoped)
            args = [started, *((scope or {})[column] for column in scoped)]
            with client.begin_transaction():
                rows = client.execute_sql(f"SELECT COUNT(*) FROM {name} WHERE {where}", *args)
                count = int(rows[0][0]) if rows else 0
                if count:
                    client.execute_sql(
                        f"UPDATE {name} SET {settings.DELETED_AT} = %s WHERE {where}", started, *args
                    )
            flagged[table] = count
            if count:
                logger.info(
                    "Marked %d %s rows deleted (not seen by the full scan of %s)", count, table, started
                )
    return flagged
