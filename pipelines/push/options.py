"""`PushOptions`: what one `woodpecker-etl push` run reads, where it sends, and how.

Imports nothing heavy: `pipelines/commands/push.py` builds it from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import defaults

# The push keeps its own dlt pipeline (state and schema) in the load's dataset.
PUSH_PIPELINE_NAME = "woodpecker_push"


@dataclass(frozen=True)
class PushOptions:
    """Everything a push needs; built from the command line (see docs/push.md)."""

    table: str | None = None
    query: str | None = None
    file: str | None = None
    campaign_id: int | None = None
    send_after: str | None = None
    update: bool = False
    force: bool = False
    dry_run: bool = False
    batch_size: int = defaults.PUSH_BATCH_SIZE
    file_name: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    destination: str = defaults.DESTINATION
    duckdb_path: str = defaults.DUCKDB_PATH
    dataset: str = defaults.DATASET_NAME
    pipelines_dir: str | None = None

    @property
    def campaign(self) -> bool:
        """Whether prospects go to a campaign (else the global database)."""
        return self.campaign_id is not None
