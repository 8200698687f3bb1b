"""`woodpecker-etl demo`: the bundled simulator loaded into ./woodpecker_demo.duckdb, end to end."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from simulator import Simulator, SimulatorConfig

from . import settings
from .commands import execute_load
from .exit_codes import ExitCode
from .runner import LoadOptions, make_pipeline

FIRST_LOOK_SQL = """
SELECT *
FROM {dataset}.campaign_performance
ORDER BY replied DESC NULLS LAST, campaign_id
LIMIT 10
"""


def first_look(duckdb_path: str, dataset: str) -> str:
    """The top lines of `campaign_performance`, as a table of text."""
    with duckdb.connect(duckdb_path, read_only=True) as con:
        frame = con.sql(FIRST_LOOK_SQL.format(dataset=dataset)).df()
    wanted = [
        "campaign_name",
        "campaign_status",
        "enrolled",
        "contacted",
        "replied",
        "reply_rate",
        "bounce_rate",
        "interested",
    ]
    columns = [c for c in wanted if c in frame.columns] or list(frame.columns)
    return str(frame[columns].to_string(index=False))


def run_demo(
    prospects: int, campaigns: int, seed: int, duckdb_path: str, pipelines_dir: str | None = None
) -> int:
    """Serve a generated account on 127.0.0.1, load it, print the summary and a first look."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    config = SimulatorConfig(seed=seed, prospects=prospects, campaigns=campaigns)
    with Simulator(config) as sim:
        print(
            f"Started the bundled Woodpecker simulator at {sim.base_url} "
            f"({prospects:,} prospects, {campaigns} campaigns, seed {seed})",
            file=sys.stderr,
        )
        options = LoadOptions(
            api_key=sim.api_key,
            base_url=sim.base_url,
            duckdb_path=duckdb_path,
            pipeline_name=settings.DEMO_PIPELINE_NAME,
            pipelines_dir=pipelines_dir,
        )
        # Every demo starts from scratch so that it shows a full load.
        make_pipeline(options).drop()
        Path(duckdb_path).unlink(missing_ok=True)
        code = execute_load(options)
    if code == ExitCode.OK:
        print("\nFirst look at campaign_performance:")
        print(first_look(duckdb_path, options.dataset))
    return code
