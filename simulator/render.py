"""Render account records in the API's JSON shapes (v1 prospects and campaign_list, v2 campaigns)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from .clock import TimeFormat
from .model import SNIPPETS, Campaign, Membership, Prospect

# The old API keeps `snipet1`–`snipet4` (sic) beside `snippet1`–`snippet4`, with the same values.
_LEGACY_SNIPPETS = tuple((f"snipet{i}", f"snippet{i}") for i in range(1, 5))


@lru_cache(maxsize=16)
def _format(zone: str) -> TimeFormat:
    return TimeFormat(zone)


def fmt_ts(ts: int | None, tz: str) -> str:
    """Epoch seconds as the API writes them: `2025-03-21T08:11:35+0100`, `""` for never."""
    if ts is None:
        return ""
    return _format(tz).format(ts)


def extra_field_value(p: Prospect, name: str) -> str:
    """The value of the undocumented field `name` (`SimulatorConfig.extra_prospect_field`) of a prospect."""
    return f"{name} of {p.id}"


def prospect_base(p: Prospect, tz: str, extra_field: str | None = None) -> dict[str, Any]:
    """The prospect object of `GET /rest/v1/prospects`, keys in the documented order.

    `extra_field` names an undocumented field served before `status` (which stays the last key).
    """
    f = p.fields
    row: dict[str, Any] = {
        "id": p.id,
        "email": f["email"],
        "first_name": f["first_name"],
        "last_name": f["last_name"],
        "company": f["company"],
        "organization_id": p.organization_id,
        "industry": f["industry"],
        "website": f["website"],
        "linkedin_url": f["linkedin_url"],
        "tags": f["tags"],
        "title": f["title"],
        "phone": f["phone"],
        "address": f["address"],
        "city": f["city"],
        "state": f["state"],
        "country": f["country"],
        "last_contacted": fmt_ts(p.last_contacted, tz),
        "last replied": fmt_ts(p.last_replied, tz),
        "updated": fmt_ts(p.updated, tz),
        "encrypted": p.encrypted,
    }
    for legacy, name in _LEGACY_SNIPPETS:
        row[legacy] = f[name]
    for name in SNIPPETS:
        row[name] = f[name]
    row["snippet_labels"] = dict(p.snippet_labels)
    if extra_field is not None:
        row[extra_field] = extra_field_value(p, extra_field)
    row["status"] = p.status
    return row


_STATUS_KEY = b',"status":'


def extend_prospect(base: bytes, extra: dict[str, Any]) -> bytes:
    """A rendered prospect object with `extra` keys set, byte for byte what `dict.update` would give.

    `base` comes from `prospect_base`, whose last key is `status`; `extra` may override `status` only as
    its first key (it then stays in place), every other key is new and goes at the end. Splicing bytes
    avoids parsing and re-serialising the whole object for every membership row of a scan.
    """
    if not extra:
        return base
    tail = orjson.dumps(extra)[1:]
    if next(iter(extra)) == "status":
        return base[: base.rindex(_STATUS_KEY)] + b"," + tail
    return base[:-1] + b"," + tail


def campaign_row(c: Campaign, tz: str) -> dict[str, Any]:
    """A row of `GET /rest/v1/campaign_list`."""
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "from_name": c.from_name,
        "from_email": c.from_email,
        "created": fmt_ts(c.created, tz),
        "from_names": [c.from_name],
        "from_emails": list(c.mailboxes),
        "gdpr_unsubscribe": c.gdpr_unsubscribe,
        "folder_name": c.folder_name,
        "folder_id": c.folder_id,
        "per_day": c.per_day,
        "bcc": "",
        "cc": "",
        "error": "",
    }


def campaign_v2(c: Campaign) -> dict[str, Any]:
    """`GET /rest/v2/campaigns/{id}`: the campaign with its START → EMAIL step chain."""
    followup: dict[str, Any] | None = None
    for step in reversed(c.steps):
        node: dict[str, Any] = {
            "id": step.id,
            "type": "EMAIL",
            "delivery_time": step.delivery_time,
            "body": {"versions": [dict(v) for v in step.versions]},
            "followup_after": {"range": step.followup_range, "value": step.followup_value},
            "followup": followup,
        }
        followup = node
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "email_account_ids": list(c.email_account_ids),
        "settings": dict(c.settings),
        "steps": {"id": c.start_id, "type": "START", "followup": followup},
    }


def membership_extra(m: Membership, c: Campaign) -> dict[str, Any]:
    """Fields a `campaigns_id` row adds to (or overrides in) the prospect object."""
    return {
        "status": m.status,
        "interested": m.interest,
        "campaign_id": c.id,
        "campaign_name": c.name,
        "campaign_email": m.campaign_email,
        "sent_mails": m.sent,
    }


def campaigns_details(memberships: list[tuple[Membership, Campaign]]) -> list[dict[str, Any]]:
    """The `campaigns_details` list of `campaigns_details=true`."""
    return [
        {
            "campaign_id": c.id,
            "campaign_name": c.name,
            "campaign_status": c.status,
            "campaign_prospect_status": m.status,
            "interested": m.interest,
            "campaign_email": m.campaign_email,
        }
        for m, c in memberships
    ]
