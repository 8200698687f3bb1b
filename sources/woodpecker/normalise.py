"""Pure functions that turn Woodpecker answers into the rows described in docs/tables.md."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sources import woodpecker_tables as tables

from . import settings

# v1 campaign_list fields that are timestamps.
_CAMPAIGN_TIMESTAMPS = tuple(c.name for c in tables.CAMPAIGNS.columns if c.data_type == "timestamp")
# campaign_list?id=<one> → stats: counters read under another name, and fields not loaded.
_STATS_RENAMES = tables.CAMPAIGN_STATS.renamed_fields()
_STATS_IGNORED = tables.CAMPAIGN_STATS.ignored


def parse_timestamp(value: Any) -> datetime | None:
    """Parse a Woodpecker timestamp into an aware UTC datetime.

    Accepts `2025-03-21T08:11:35+0100` (v1), `+01:00` offsets and naive values (taken as UTC, as the
    v2 `delivered` field has no offset). `""` and None give None.

    Raises:
        ValueError: For a non-empty value that is not a timestamp.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            return None
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_diff_timestamp(value: datetime) -> str:
    """Format a `diff` filter value the way the API documents it: `2025-01-15T08:00:00+0000`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def normalise_interest(value: Any) -> Any:
    """Interest values with one spelling: `MAYBE-LATER` → `MAYBE_LATER`; `""` → None."""
    if isinstance(value, str):
        value = value.strip()
        return value.replace("-", "_").upper() if value else None
    return value


def _empty_to_none(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: (None if value == "" else value) for key, value in row.items()}


@lru_cache(maxsize=8192)
def _cursor_time(text: str) -> datetime | None:
    try:
        return parse_timestamp(text)
    except (ValueError, OverflowError):
        return None


def prospect_value(raw: Mapping[str, Any], field: str) -> datetime | None:
    """A timestamp field of a raw prospect object (`last_replied` is served as `"last replied"`).

    Used for paging and cursors, so it never raises: a value that is not a timestamp gives None (the
    loaded row keeps it in `_unparsed`). Parses are cached, since many rows share a second.
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):  # the ABC check only for rare rows
        return None
    if field == "last_replied":
        value = raw.get(settings.LAST_REPLIED_API_KEY) or raw.get("last_replied")
    elif field == "last_opened":
        value = raw.get("last_open") or raw.get("last_opened")
    else:
        value = raw.get(field)
    return _cursor_time(value) if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """An id as an int: ints and digit strings pass, anything else (bools, floats, text) gives None.

    Never raises: a string of digits Python does not read as an int (`"--5"`, `"²"`, more than 4,300
    digits) gives None too.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def normalise_open(raw: Mapping[str, Any], fetched_at: datetime) -> dict[str, Any] | None:
    """A `prospect_opens` row from an `activity=OPENED` row, or None when it carries no open time."""
    opened_at = prospect_value(raw, "last_opened")
    prospect_id, campaign_id = as_int(raw.get("id")), as_int(raw.get("campaign_id"))
    if opened_at is None or prospect_id is None or campaign_id is None:
        return None
    return {
        "prospect_id": prospect_id,
        "campaign_id": campaign_id,
        "opened_at": opened_at,
        settings.FETCHED_AT: fetched_at,
    }


def normalise_click(raw: Mapping[str, Any], fetched_at: datetime) -> dict[str, Any] | None:
    """A `prospect_clicks` row from an `activity=CLICKED` row, or None when it has no click."""
    clicked_at = prospect_value(raw, "last_clicked")
    url = raw.get("click_url")
    prospect_id, campaign_id = as_int(raw.get("id")), as_int(raw.get("campaign_id"))
    if (
        clicked_at is None
        or not isinstance(url, str)
        or not url
        or prospect_id is None
        or campaign_id is None
    ):
        return None
    return {
        "prospect_id": prospect_id,
        "campaign_id": campaign_id,
        "url": url,
        "clicked_at": clicked_at,
        settings.FETCHED_AT: fetched_at,
    }


def normalise_campaign(raw: Mapping[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """A `campaigns` row (v1 part) from one `campaign_list` object; `stats` is not part of it."""
    row = _empty_to_none({k: v for k, v in raw.items() if k != "stats"})
    row["id"] = int(row["id"])
    for field in _CAMPAIGN_TIMESTAMPS:
        if field in row:
            row[field] = parse_timestamp(row[field])
    row[settings.FETCHED_AT] = fetched_at
    return row


def normalise_stats(
    campaign_id: int, stats: Mapping[str, Any], captured_at: datetime, fetched_at: datetime
) -> dict[str, Any]:
    """A `campaign_stats` row: the counters of `campaign_list?id=<id>` → `stats`."""
    row: dict[str, Any] = {"campaign_id": campaign_id, "captured_at": captured_at}
    for key, value in stats.items():
        if key in _STATS_IGNORED:
            continue
        row[_STATS_RENAMES.get(key, key)] = value
    row[settings.FETCHED_AT] = fetched_at
    return row


def campaign_details_fields(details: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 fields copied onto the campaign row, with `details_status="OK"`."""
    settings_obj = details.get("settings") or {}
    fields: dict[str, Any] = {key: settings_obj.get(key) for key in settings.V2_SETTINGS_FIELDS}
    fields["email_account_ids"] = details.get("email_account_ids")
    fields["details_status"] = "OK"
    fields["details_error"] = None
    return fields


def walk_steps(root: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    """The steps of a v2 step tree in order, following `followup` from the `START` node (excluded)."""
    node = root.get("followup") if root and root.get("type") == "START" else root
    seen: set[int] = set()
    while isinstance(node, Mapping) and id(node) not in seen:
        seen.add(id(node))
        yield node
        node = node.get("followup")


def sending_days(delivery_time: Mapping[str, Any] | None) -> str | None:
    """Days with a sending window, in week order, e.g. `"MON,TUE,FRI"`."""
    if not delivery_time:
        return None
    days = [day[:3] for day in settings.WEEKDAYS if delivery_time.get(day)]
    return ",".join(days) or None


def flatten_steps(
    campaign_id: int, details: Mapping[str, Any], fetched_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`campaign_steps` and `campaign_step_versions` rows of one campaign's v2 step tree.

    Steps are numbered 1..n from the first step after `START`.
    """
    steps: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for number, step in enumerate(walk_steps(details.get("steps")), start=1):
        followup_after = step.get("followup_after") or {}
        range_ = followup_after.get("range")
        value = followup_after.get("value")
        hours = settings.FOLLOWUP_RANGE_HOURS.get(str(range_).upper()) if range_ else None
        step_versions = (step.get("body") or {}).get("versions") or []
        steps.append(
            {
                "campaign_id": campaign_id,
                "step_id": step.get("id"),
                "step_number": number,
                "type": step.get("type"),
                "followup_after_range": range_,
                "followup_after_value": value,
                "wait_hours": value * hours if hours is not None and isinstance(value, int | float) else None,
                "delivery_time": step.get("delivery_time"),
                "sending_days": sending_days(step.get("delivery_time")),
                "version_count": len(step_versions),
                settings.FETCHED_AT: fetched_at,
            }
        )
        for version in step_versions:
            versions.append(
                {
                    "campaign_id": campaign_id,
                    "step_id": step.get("id"),
                    "step_number": number,
                    "version_id": version.get("id"),
                    "version": version.get("version"),
                    "subject": version.get("subject"),
                    "message": version.get("message"),
                    "signature": version.get("signature"),
                    "track_opens": version.get("track_opens"),
                    settings.FETCHED_AT: fetched_at,
                }
            )
    return [_empty_to_none(s) for s in steps], [_empty_to_none(v) for v in versions]
