"""Dagster assets, schedule and freshness checks for a Woodpecker load.

Each resource of the Woodpecker source is one asset (dagster-dlt's `@dlt_assets`); the engagement
marts are one multi-asset downstream of all of them, which also applies reconciliation first. A daily
schedule materialises everything; freshness checks (and a sensor that evaluates them) warn when the
marts have not been rebuilt for `MAX_STALENESS_HOURS`.

dagster-dlt drops the local pipeline folder before every run and lets dlt restore the state from the
destination, so a Dagster deployment on ephemeral workers resumes incrementally too.

Example:
    >>> defs = woodpecker_definitions(
    ...     source_factory=lambda: woodpecker_source(),            # API key from the environment
    ...     pipeline=dlt.pipeline("woodpecker", destination="snowflake", dataset_name="woodpecker"),
    ... )
"""

import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import dagster as dg
import dlt
from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltResource, dlt_assets
from dlt.extract.source import DltSource

from pipelines.defaults import DUCKDB_PATH
from pipelines.lake import is_lake
from pipelines.load_run import build_engagement_models
from sources.woodpecker import woodpecker_source
from sources.woodpecker.reconcile import apply_reconciliation
from transforms.layout import MARTS

from . import dagster_defaults


def mart_key(mart: str) -> dg.AssetKey:
    """Asset key of one engagement mart."""
    return dg.AssetKey([dagster_defaults.MARTS_KEY_PREFIX, mart])


def attached(pipeline: dlt.Pipeline) -> dlt.Pipeline:
    """The pipeline as the last run left it on disk.

    dagster-dlt runs the load on the pipeline object kept in the asset definition's metadata, so the
    object a caller holds may still carry the schema from before the run.
    """
    return dlt.attach(
        pipeline_name=pipeline.pipeline_name,
        pipelines_dir=pipeline.pipelines_dir,
        destination=pipeline.destination,
        dataset_name=pipeline.dataset_name,
    )


def load_assets(source_factory: Callable[[], DltSource], pipeline: dlt.Pipeline) -> dg.AssetsDefinition:
    """One asset per resource of the source, loaded by `pipeline`.

    Args:
        source_factory: Builds a fresh Woodpecker source; called once for the asset definitions and
            once per run (a source object is not reused across runs).
        pipeline: The dlt pipeline (destination and dataset).
    """

    @dlt_assets(
        dlt_source=source_factory(),
        dlt_pipeline=pipeline,
        name="woodpecker_load",
        group_name=dagster_defaults.GROUP_NAME,
    )
    def woodpecker_load(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        yield from dlt.run(context=context, dlt_source=source_factory())

    return woodpecker_load


def mart_assets(
    load: dg.AssetsDefinition, pipeline: dlt.Pipeline, duckdb_path: str = DUCKDB_PATH
) -> dg.AssetsDefinition:
    """The engagement marts, built inside the destination after every load asset.

    Args:
        load: The load assets the marts depend on.
        pipeline: The same dlt pipeline the load assets use.
        duckdb_path: Where a lake (filesystem destination) gets its marts; unused otherwise.
    """
    specs = [
        dg.AssetSpec(mart_key(mart), deps=list(load.keys), group_name=dagster_defaults.GROUP_NAME)
        for mart in MARTS
    ]

    @dg.multi_asset(specs=specs, name="woodpecker_marts")
    def woodpecker_marts(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        loaded = attached(pipeline)
        if not is_lake(loaded):  # Parquet files cannot be updated in place
            flagged = apply_reconciliation(loaded)
            if any(flagged.values()):
                context.log.info(f"Marked deleted: {flagged}")
        report = build_engagement_models(loaded, duckdb_path)
        for mart in MARTS:
            yield dg.MaterializeResult(
                asset_key=mart_key(mart),
                metadata={"rows": report.rows_per_mart[mart], "build_seconds": round(report.seconds, 3)},
            )

    return woodpecker_marts


def woodpecker_definitions(
    source_factory: Callable[[], DltSource] | None = None,
    pipeline: dlt.Pipeline | None = None,
    duckdb_path: str = DUCKDB_PATH,
    cron_schedule: str = dagster_defaults.DAILY_CRON,
    max_staleness: timedelta = timedelta(hours=dagster_defaults.MAX_STALENESS_HOURS),
) -> dg.Definitions:
    """Everything Dagster needs: load and mart assets, a daily schedule, freshness checks and their sensor.

    Args:
        source_factory: Builds the Woodpecker source; defaults to `woodpecker_source()` configured from
            `.dlt` files and environment variables (SOURCES__WOODPECKER__API_KEY).
        pipeline: The dlt pipeline; defaults to pipeline `woodpecker` into the DuckDB file `duckdb_path`.
            Pass e.g. `dlt.pipeline("woodpecker", destination="snowflake", dataset_name="woodpecker")`
            for a warehouse.
        duckdb_path: The DuckDB file of the default pipeline, and of a lake's marts.
        cron_schedule: When the daily job runs (UTC).
        max_staleness: Age after which the freshness checks warn about the marts.
    """
    factory = source_factory or woodpecker_source
    if pipeline is None:
        pipeline = dlt.pipeline(
            pipeline_name="woodpecker",
            destination=dlt.destinations.duckdb(credentials=duckdb_path),
            dataset_name="woodpecker",
        )
    load = load_assets(factory, pipeline)
    marts = mart_assets(load, pipeline, duckdb_path)
    job = dg.define_asset_job(dagster_defaults.JOB_NAME, selection=dg.AssetSelection.assets(load, marts))
    with warnings.catch_warnings():
        # Dagster prefers FreshnessPolicy now, but only its daemon evaluates those; these checks run in
        # any job and in tests, and the sensor evaluates them on deployments.
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks = dg.build_last_update_freshness_checks(
            assets=[mart_key(mart) for mart in MARTS], lower_bound_delta=max_staleness
        )
        sensor = dg.build_sensor_for_freshness_checks(freshness_checks=checks)
    return dg.Definitions(
        assets=[load, marts],
        asset_checks=checks,
        jobs=[job],
        schedules=[dg.ScheduleDefinition(job=job, cron_schedule=cron_schedule, execution_timezone="UTC")],
        sensors=[sensor],
        resources={"dlt": DagsterDltResource()},
    )
