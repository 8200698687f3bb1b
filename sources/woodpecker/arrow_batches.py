"""Pages of the large resources handed to dlt as typed Arrow tables in batches.

The tables declared with `arrow=True` (`prospects` and `campaign_prospects`) convert each page with
`columnar.to_arrow` and hand dlt batches of about `settings.ARROW_BATCH_ROWS` rows: dlt does fixed work
per item it receives. Records without a usable primary key go to the `_rejected_records` table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import dlt
import pyarrow as pa

from sources.woodpecker_tables import REJECTED_RECORDS_TABLE, TABLES

from . import settings
from .columnar import TableSpec, arrow_spec, to_arrow
from .paging import Page
from .progress import RunStats
from .schema import column_hints

logger = logging.getLogger(__name__)

# Table name → its Arrow specification, for the tables the fast path loads.
ARROW_SPECS: dict[str, TableSpec] = {table.name: arrow_spec(table) for table in TABLES if table.arrow}


class _JsonAsArrowText(logging.Filter):
    """Drops dlt's per-page warning that a JSON column arrives as Arrow text: that is by design.

    Arrow has no JSON type dlt recognises; `_unparsed` and `snippet_labels` carry JSON text that the
    destination stores in its JSON type, as the column hints declare.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "when merging arrow schema with dlt schema" in message
            and any(f"resource: {table}," in message for table in ARROW_SPECS)
        )


JSON_AS_ARROW_TEXT_FILTER = _JsonAsArrowText()


REJECTED_HINTS = dlt.mark.make_hints(
    table_name=REJECTED_RECORDS_TABLE.name,
    write_disposition="merge",
    primary_key=list(REJECTED_RECORDS_TABLE.primary_key),
    columns=column_hints(REJECTED_RECORDS_TABLE),
    file_format="parquet",
)


def typed_batches(stats: RunStats, pages: Iterable[Page], table: str) -> Iterator[Any]:
    """Pages as typed Arrow tables of about `ARROW_BATCH_ROWS` rows, plus the records they could not load.

    dlt does fixed work per item it receives, so pages are handed over in batches (see columnar.py).

    Args:
        stats: The run's counters (rows, unparsed values, rejected records).
        pages: Pages of raw API records.
        table: A table declared with `arrow=True`.

    Yields:
        Arrow tables of `table`, and lists of rejected records hinted for `_rejected_records`.
    """
    spec = ARROW_SPECS[table]
    batch: list[pa.Table] = []
    batch_rows = 0
    for page in pages:
        converted = to_arrow(page.rows, spec, page.answer.fetched_at)
        if converted.unparsed_values:
            stats.add_unparsed(spec.table, converted.unparsed_values)
        if converted.rejected:
            stats.add_rejected(spec.table, len(converted.rejected))
            logger.warning(
                "%d %s record(s) without a usable primary key were kept in %s",
                len(converted.rejected),
                spec.table,
                settings.REJECTED_RECORDS,
            )
            yield dlt.mark.with_hints(converted.rejected, REJECTED_HINTS, create_table_variant=True)
        if converted.table is None:
            continue
        stats.add_rows(spec.table, converted.table.num_rows)
        batch.append(converted.table)
        batch_rows += converted.table.num_rows
        if batch_rows >= settings.ARROW_BATCH_ROWS:
            yield pa.concat_tables(batch)
            batch, batch_rows = [], 0
    if batch:
        yield pa.concat_tables(batch)
