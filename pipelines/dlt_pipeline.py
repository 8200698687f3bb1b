"""The dlt pipeline that `LoadOptions` name: its destination, dataset and working dir."""

from __future__ import annotations

import os
from typing import Any

import dlt
from dlt.common.destination.reference import TDestinationReferenceArg
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from . import defaults
from .load_options import LoadOptions, check_options


def make_pipeline(options: LoadOptions) -> dlt.Pipeline:
    """Create (or attach to) the dlt pipeline for these options."""
    check_options(options)
    if dlt.config.get("load.workers") is None:  # unless set in the environment or .dlt/config.toml
        os.environ["LOAD__WORKERS"] = str(defaults.LOAD_WORKERS)
    destination: TDestinationReferenceArg = options.destination
    if options.destination == "duckdb":
        credentials = DuckDbCredentials(options.duckdb_path, global_config=dict(defaults.DUCKDB_LOAD_CONFIG))
        destination = dlt.destinations.duckdb(credentials=credentials)
    kwargs: dict[str, Any] = {}
    if options.pipelines_dir:
        kwargs["pipelines_dir"] = options.pipelines_dir
    return dlt.pipeline(
        pipeline_name=options.pipeline_name,
        destination=destination,
        dataset_name=options.dataset,
        **kwargs,
    )
