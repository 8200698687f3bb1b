"""Whose pipeline state is it? The local state of one destination is never used for another.

dlt keeps a pipeline's state (the incremental cursors) in a local working dir named after the pipeline
only, `<pipelines dir>/<pipeline name>`, and a copy in the destination's `_dlt_pipeline_state` table
with every load. Loading the same pipeline into a second DuckDB file or dataset would therefore resume
from the first one's cursors and load only an increment into the second. To prevent that, the
destination a working dir belongs to is recorded beside it, in
`<pipelines dir>/<pipeline name>.destination.json` (its kind, DuckDB file or a hash of the
credentials without password, and dataset). When a load starts:

- same destination, or an unfinished load package waiting for it: the local state is used as is;
- another destination (or a working dir whose destination is not recorded): the local working dir is
  dropped and dlt restores this destination's own state from its `_dlt_pipeline_state` table (none: a
  full load) — unless the working dir holds an unfinished load into the other destination, which is
  refused with exit code 2 so that nothing of it is lost;
- the destination holds no state of this pipeline (a new or emptied DuckDB file) while the working dir
  does: the working dir is stale and dropped, so the load is a full one.

`status` and `transform` read only the destination: when it holds no loaded Woodpecker data they say so
in one line and exit with code 2, and they never create a DuckDB file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.pipeline.state_sync import load_pipeline_state_from_destination

from . import defaults
from .dlt_pipeline import make_pipeline
from .exit_codes import CliError, ExitCode
from .load_options import LoadOptions, destination_label
from .lock import lock_path

OWNER_SUFFIX = ".destination.json"
_PASSWORD = re.compile(r"(://[^:/@]*):[^@]*@")


def owner_path(pipelines_dir: str | None, pipeline_name: str) -> Path:
    """The file recording which destination a pipeline's local working dir belongs to."""
    lock = lock_path(pipelines_dir, pipeline_name)
    return lock.with_name(f"{pipeline_name}{OWNER_SUFFIX}")


def _credentials_identity(destination: str) -> str:
    """Where a warehouse destination points (its credentials without the password), or ""."""
    try:
        value: Any = dlt.secrets.get(f"destination.{destination}.credentials")
    except Exception:  # credentials given in another form: the destination name and dataset must do
        return ""
    if isinstance(value, str):
        return _PASSWORD.sub(r"\1@", value)
    if isinstance(value, dict):
        return json.dumps(
            {k: v for k, v in value.items() if "password" not in k and "key" not in k}, sort_keys=True
        )
    return ""


def destination_identity(options: LoadOptions) -> dict[str, str]:
    """What tells this destination from any other: its kind, where it is, and the dataset."""
    identity = {"destination": options.destination, "dataset": options.dataset}
    if options.destination in defaults.DUCKDB_FILE_DESTINATIONS:
        identity["duckdb_file"] = str(Path(options.duckdb_path).expanduser().resolve())
    if options.destination == "filesystem":
        identity["bucket_url"] = str(dlt.config.get("destination.filesystem.bucket_url") or "")
    elif options.destination != "duckdb":
        identity["credentials"] = hashlib.sha256(
            _credentials_identity(options.destination).encode()
        ).hexdigest()
    return identity


def _recorded(path: Path) -> dict[str, str] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _record(path: Path, identity: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(identity, indent=2) + "\n")


def _describe(identity: dict[str, str]) -> str:
    where = identity.get("duckdb_file") or identity.get("bucket_url") or identity.get("destination", "?")
    return f"{where} (dataset {identity.get('dataset', '?')})"


def stored_state(pipeline: dlt.Pipeline, options: LoadOptions) -> dict[str, Any] | None:
    """This pipeline's newest state as stored in the destination, or None when it holds none.

    A DuckDB file that does not exist holds none (and is not created).
    """
    if options.destination == "duckdb" and not Path(options.duckdb_path).is_file():
        return None
    try:
        with pipeline.destination_client() as client:
            state = load_pipeline_state_from_destination(pipeline.pipeline_name, client)  # type: ignore[arg-type]
    except DestinationUndefinedEntity:
        return None
    return dict(state) if state else None


def adopt_local_state(pipeline: dlt.Pipeline, options: LoadOptions) -> dlt.Pipeline:
    """The pipeline with local state that belongs to this destination (see the module docstring).

    Call with the pipeline's lock held.

    Raises:
        CliError: the working dir holds an unfinished load into another destination (exit code 2).
    """
    identity = destination_identity(options)
    path = owner_path(options.pipelines_dir, options.pipeline_name)
    recorded = _recorded(path)
    if pipeline.has_pending_data:
        if recorded is not None and recorded != identity:
            raise CliError(
                f"Pipeline {options.pipeline_name!r} has an unfinished load into {_describe(recorded)}; run "
                f"`woodpecker-etl load` with that destination once to finish it, or give this destination "
                f"its own --pipelines-dir.",
                ExitCode.CONFIGURATION,
            )
    elif recorded != identity or stored_state(pipeline, options) is None:
        # Another destination's (or an unknown) working dir, or one this destination no longer has
        # the state of: start from this destination's own stored state, if any.
        pipeline.drop()
        pipeline = make_pipeline(options)
    _record(path, identity)
    return pipeline


def _stored_pipeline_names(pipeline: dlt.Pipeline) -> list[str]:
    """Names of the pipelines with state in the destination's dataset (best effort)."""
    try:
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name("_dlt_pipeline_state")
            rows = client.execute_sql(f"SELECT DISTINCT pipeline_name FROM {name}")
    except Exception:
        return []
    return sorted(str(row[0]) for row in rows or [])


class NothingLoaded(CliError):
    """The destination holds no loaded Woodpecker data for the pipeline (exit code 2)."""


def nothing_loaded(options: LoadOptions) -> CliError:
    """The one-line error of `status` / `transform` on a destination without loaded Woodpecker data."""
    hint = ""
    demo = Path(defaults.DEMO_DUCKDB_PATH)
    if (
        options.destination == "duckdb"
        and demo.is_file()
        and Path(options.duckdb_path).resolve() != demo.resolve()
    ):
        demo_path = defaults.DEMO_DUCKDB_PATH
        hint = f" (the demo's data is in {demo_path}: add --duckdb-path {demo_path})"
    if options.destination == "duckdb" and not Path(options.duckdb_path).exists():
        what = f"There is no DuckDB file {options.duckdb_path}"
    else:
        what = f"No Woodpecker data has been loaded into {destination_label(options)}"
    return NothingLoaded(
        f"{what}; run `woodpecker-etl load` with the same --duckdb-path/--dataset first, or point "
        f"--duckdb-path and --dataset at the database you loaded{hint}.",
        ExitCode.CONFIGURATION,
    )


def loaded_target(options: LoadOptions) -> tuple[LoadOptions, dlt.Pipeline, dict[str, Any]]:
    """The options, pipeline and stored state of a destination that holds loaded Woodpecker data.

    When the pipeline named in `options` has no state there but exactly one other pipeline has (the
    demo's file, loaded by pipeline `woodpecker_demo`), that pipeline is used.

    Raises:
        CliError: exit code 2 when the destination holds no loaded Woodpecker data.
    """
    if options.destination == "duckdb" and not Path(options.duckdb_path).is_file():
        raise nothing_loaded(options)
    pipeline = make_pipeline(options)
    state = stored_state(pipeline, options)
    if state is None and options.pipeline_name == defaults.PIPELINE_NAME:
        names = _stored_pipeline_names(pipeline)
        if len(names) == 1:
            options = replace(options, pipeline_name=names[0])
            pipeline = make_pipeline(options)
            state = stored_state(pipeline, options)
    if state is None:
        raise nothing_loaded(options)
    return options, pipeline, state


def local_state_is_ours(options: LoadOptions) -> bool:
    """True when the local working dir is recorded as this destination's (its trace may be shown)."""
    return _recorded(owner_path(options.pipelines_dir, options.pipeline_name)) == destination_identity(
        options
    )
