"""Where a push sends: its options checked, and the API's `PushTarget` (endpoint, campaign, flags)."""

from __future__ import annotations

from datetime import UTC, datetime

from sources.woodpecker import settings
from sources.woodpecker.prospect_writes import PushTarget

from ..exit_codes import CliError, ExitCode
from .options import PushOptions


def check(options: PushOptions) -> None:
    """Refuse option combinations that cannot work, before anything is read or sent.

    Raises:
        CliError: `ExitCode.CONFIGURATION`, with the fix in the message.
    """
    given = [value for value in (options.table, options.query, options.file) if value]
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


def push_target(options: PushOptions) -> PushTarget:
    """The endpoint and flags the prospects are sent with."""
    return PushTarget(
        campaign_id=options.campaign_id,
        send_after=api_send_after(options.send_after) if options.send_after else None,
        update=options.update,
        force=options.force,
        file_name=options.file_name,
    )


def describe_target(target: PushTarget) -> str:
    """The target in words, with its endpoint and flags (`campaign 7 (add_prospects_campaign, …)`)."""
    flags = f"update={str(target.update).lower()}"
    if target.campaign_id is not None:
        flags += f", force={str(target.force).lower()}"
        if target.send_after:
            flags += f", send_after={target.send_after}"
    return f"{target.label} ({target.path.rsplit('/', 1)[-1]}, {flags})"
