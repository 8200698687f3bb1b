"""`PushOptions`: what one `woodpecker-etl push` run reads, where it sends, and how."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sources.woodpecker import settings

from .. import defaults
from ..exit_codes import CliError, ExitCode

# The push keeps its own dlt pipeline (state and schema) in the load's dataset.
PUSH_PIPELINE_NAME = "woodpecker_push"


@dataclass
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
    batch_size: int = settings.MAX_PROSPECTS_PER_REQUEST
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


def check(options: PushOptions) -> None:
    """Refuse option combinations that cannot work, before anything is read or sent.

    Raises:
        CliError: `ExitCode.CONFIGURATION`, with the fix in the message.
    """
    given = [name for name in ("table", "query", "file") if getattr(options, name)]
    if len(given) != 1:
        raise CliError("Give exactly one input: --table, --query or --file.", ExitCode.CONFIGURATION)
    if not 1 <= options.batch_size <= settings.MAX_PROSPECTS_PER_REQUEST:
        raise CliError(
            f"--batch-size must be between 1 and {settings.MAX_PROSPECTS_PER_REQUEST:,} (the API's limit).",
            ExitCode.CONFIGURATION,
        )
    if not options.campaign and (options.force or options.send_after):
        raise CliError(
            "--force and --send-after apply to campaigns only; add --campaign-id.", ExitCode.CONFIGURATION
        )
    if options.campaign_id is not None and options.campaign_id <= 0:
        raise CliError("--campaign-id must be a positive campaign id.", ExitCode.CONFIGURATION)


def api_send_after(value: str) -> str:
    """`--send-after` (ISO 8601; no offset = UTC) in the API's format, `+` written `%2B` as documented.

    Raises:
        CliError: When the value is not an ISO 8601 date or date-time.
    """
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CliError(
            f"--send-after {value!r} is not an ISO 8601 date-time (e.g. 2025-05-01T09:00:00+02:00).",
            ExitCode.CONFIGURATION,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z").replace("+", "%2B")
