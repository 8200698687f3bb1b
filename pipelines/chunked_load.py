"""Extract, normalise and load the source in chunks, each committed with its scan positions.

`run_load` hands the source to `load_in_chunks`, which runs the pipeline once per chunk of the load
(`sources/woodpecker/chunks.py`) until no resource has work left. Every chunk commits its rows and the
positions of the scans it paused; a load killed at any moment repeats at most the chunk it was in.
A load that reads fewer requests than one chunk's budget is one pipeline run, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import dlt
from dlt.common.pipeline import NormalizeInfo

from sources.woodpecker.chunks import LoadChunks
from sources.woodpecker.progress import RunStats


def _rows_loaded(normalize_info: NormalizeInfo | None) -> dict[str, int]:
    if normalize_info is None:
        return {}
    counts = normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def load_in_chunks(
    pipeline: dlt.Pipeline,
    make_source: Callable[[LoadChunks], Any],
    stats: RunStats,
    run_args: dict[str, Any],
    load_gate: AbstractContextManager[Any] | None = None,
) -> dict[str, int]:
    """Run the pipeline chunk after chunk until the source has read everything; rows loaded per table.

    Args:
        pipeline: The pipeline to run.
        make_source: Builds one chunk's source, given the load's chunks.
        stats: The run's counters (requests spent by each chunk set its budget).
        run_args: Arguments of the first chunk's run (`refresh` applies to the first chunk only).
        load_gate: When given, each chunk is extracted and normalised outside it and loaded inside;
            the last chunk is left normalised for the caller to load inside its own gate.

    Returns:
        Rows loaded per table, summed over the chunks.
    """
    chunks = LoadChunks()
    rows: dict[str, int] = {}
    args = dict(run_args)
    try:
        while True:
            chunks.start(stats)
            source = make_source(chunks)
            if load_gate is None:
                pipeline.run(source, **args).raise_on_failed_jobs()
                trace = pipeline.last_trace
                counted = _rows_loaded(trace.last_normalize_info if trace is not None else None)
            else:
                # The steps of `pipeline.run`, with only the destination's writes inside the gate.
                if chunks.chunk == 1:
                    pipeline.sync_destination()
                pipeline.extract(source, **args)
                counted = _rows_loaded(pipeline.normalize())
                if chunks.more:
                    with load_gate:
                        pipeline.load().raise_on_failed_jobs()
            for table, n in counted.items():
                rows[table] = rows.get(table, 0) + n
            if not chunks.more:
                return rows
            args.pop("refresh", None)
    finally:
        chunks.close()
