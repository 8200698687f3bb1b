"""Ready definitions for `dagster dev -m orchestration.definitions` (configuration from the environment).

The API key comes from SOURCES__WOODPECKER__API_KEY (or .dlt/secrets.toml). The destination is DuckDB
(`./woodpecker_etl.duckdb`) unless WOODPECKER_DESTINATION names another dlt destination, whose
credentials then come from DESTINATION__<NAME>__CREDENTIALS (docs/production.md).
"""

from __future__ import annotations

import os

import dlt

from pipelines.defaults import DATASET_NAME, DUCKDB_PATH, PIPELINE_NAME

from .assets import woodpecker_definitions

_destination = os.environ.get("WOODPECKER_DESTINATION", "duckdb")

defs = woodpecker_definitions(
    pipeline=dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(credentials=DUCKDB_PATH)
        if _destination == "duckdb"
        else _destination,
        dataset_name=DATASET_NAME,
    )
)
