"""`LoadOptions`: what one load reads, where it writes, and how; with the checks and words about them.

Imports nothing heavy: the command modules build `LoadOptions` from their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import defaults
from .exit_codes import CliError, ExitCode


@dataclass
class LoadOptions:
    """Everything a load needs; built from the command line or by the demo."""

    api_key: str | None = None
    base_url: str | None = None
    company_id: str | None = None
    destination: str = defaults.DESTINATION
    duckdb_path: str = defaults.DUCKDB_PATH
    dataset: str = defaults.DATASET_NAME
    pipeline_name: str = defaults.PIPELINE_NAME
    pipelines_dir: str | None = None
    resources: list[str] | None = None
    full_refresh: bool = False
    reconcile: bool | None = None
    transform: bool = True
    # Seconds to wait for other processes to close the DuckDB file before giving up (exit code 5).
    lock_timeout: float = defaults.LOCK_TIMEOUT_S
    # Set in the `column` account layout: rows carry this `account_id` and key on it (shared tables).
    account_id: str | None = None
    source_options: dict[str, Any] = field(default_factory=dict)


def destination_label(options: LoadOptions) -> str:
    """Where the data lands, in words a user can act on."""
    if options.destination == "duckdb":
        return f"DuckDB file {options.duckdb_path}, schema {options.dataset}"
    if options.destination == "filesystem":
        return (
            f"filesystem (Parquet), dataset {options.dataset}; engagement tables in DuckDB file "
            f"{options.duckdb_path}"
        )
    return f"{options.destination}, dataset {options.dataset}"


def check_options(options: LoadOptions) -> None:
    """Refuse option combinations that cannot work, before anything runs.

    Raises:
        CliError: with the fix in the message.
    """
    if options.destination in defaults.DUCKDB_FILE_DESTINATIONS and Path(options.duckdb_path).stem == (
        options.dataset
    ):
        raise CliError(
            f"The DuckDB file {options.duckdb_path} is named like the dataset {options.dataset!r}; "
            f"DuckDB then cannot tell the file's catalog from the schema. Choose another --duckdb-path "
            f"(default {defaults.DUCKDB_PATH}) or --dataset.",
            ExitCode.CONFIGURATION,
        )
