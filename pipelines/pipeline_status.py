"""What `woodpecker-etl status` shows of one pipeline: last run, cursors, row counts and the marts' state."""

from __future__ import annotations

import dlt

from . import defaults
from .destination_state import loaded_target, local_state_is_ours
from .load_options import LoadOptions
from .load_run import row_counts
from .marts_state import marts_line, read_marts_state
from .report import status_text


def status_block(options: LoadOptions) -> str:
    """The status of one pipeline: last run, cursors and row counts (an account's rows only, if set).

    Cursors come from the state stored in the destination itself, so they are always this
    destination's; the last run's outcome from the local trace when the local working dir is this
    destination's, else the newest load recorded in the destination.

    Raises:
        CliError: exit code 2 when the destination holds no loaded Woodpecker data.
    """
    options, pipeline, state = loaded_target(options)
    last = None
    trace = pipeline.last_trace if local_state_is_ours(options) else None
    if trace is not None:
        outcome = "failed" if any(step.step_exception for step in trace.steps) else "succeeded"
        if outcome == "succeeded" and pipeline.state.get("sources", {}).get("woodpecker", {}).get(
            "incomplete"
        ):
            outcome = "incomplete"
        last = f"{trace.started_at} ({outcome})"
    else:
        last = last_load(pipeline)
    totals = row_counts(pipeline, defaults.SOURCE_TABLES, options.account_id)
    return status_text(options, state, totals, last, marts_line(read_marts_state(pipeline)))


def last_load(pipeline: dlt.Pipeline) -> str | None:
    """The newest completed load recorded in the destination (`_dlt_loads`), in words."""
    try:
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name("_dlt_loads")
            rows = client.execute_sql(f"SELECT MAX(inserted_at) FROM {name} WHERE status = 0")
    except Exception:
        return None
    return f"{rows[0][0]} (loaded; as recorded in the destination)" if rows and rows[0][0] else None
