"""The vendor's campaign statistics (`campaign_list?id=<one id>` → `stats`), from the event log.

Event-based counters (sent, opened, replied, …) count every prospect that ever had the event in the
campaign, including prospects deleted later, as vendors' own dashboards do. Membership counters
(prospects, interest, queue, check) describe the memberships that exist now.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from typing import Any

from . import model as m
from .account import Account
from .model import Campaign, Membership

# Memberships by campaign id, per account and data version: the statistics of 40 campaigns then walk
# the account's memberships once instead of 40 times.
_MEMBERS: weakref.WeakKeyDictionary[Account, tuple[int, dict[int, list[Membership]]]] = (
    weakref.WeakKeyDictionary()
)


def _members(account: Account, campaign_id: int) -> list[Membership]:
    """The campaign's current memberships (the membership objects themselves, so always up to date)."""
    cached = _MEMBERS.get(account)
    if cached is None or cached[0] != account.version:
        by_campaign: dict[int, list[Membership]] = defaultdict(list)
        for (_, cid), ms in account.memberships.items():
            by_campaign[cid].append(ms)
        cached = (account.version, dict(by_campaign))
        _MEMBERS[account] = cached
    return cached[1].get(campaign_id, [])


def campaign_stats(account: Account, campaign: Campaign) -> dict[str, Any]:
    """The `stats` object of one campaign."""
    events = account.campaign_events.get(campaign.id, [])
    sent = sum(1 for e in events if e.type == m.SENT)
    unique: dict[str, set[int]] = defaultdict(set)
    per_step_sent: dict[int, int] = defaultdict(int)
    for e in events:
        unique[e.type].add(e.prospect_id)
        if e.type == m.SENT and e.step is not None:
            per_step_sent[e.step] += 1
    bounced_events = sum(1 for e in events if e.type == m.BOUNCED)
    members = _members(account, campaign.id)
    interest: dict[str, int] = defaultdict(int)
    for ms in members:
        interest[ms.interest] += 1
    return {
        "prospects": len(members),
        "sent": sent,
        "delivery": sent - bounced_events,
        "opened": len(unique[m.OPENED]),
        "clicked": len(unique[m.CLICKED]),
        "replied": len(unique[m.REPLIED]),
        "autoreplied": len(unique[m.AUTOREPLIED]),
        "bounced": len(unique[m.BOUNCED]),
        "invalid": len(unique[m.INVALID]),
        "optout": len(unique[m.OPTED_OUT]),
        "interested": interest["INTERESTED"],
        "not_interested": interest["NOT_INTERESTED"],
        "maybe_later": interest["MAYBE_LATER"],
        "queue": sum(1 for ms in members if ms.status == "ACTIVE"),
        "check": sum(1 for ms in members if ms.status == "TO-CHECK"),
        "emails": [
            {
                "step": step.number,
                "subject": step.versions[0]["subject"],
                "msg": step.versions[0]["message"],
                "timezone": campaign.settings.get("timezone"),
                "use_prospect_timezone": campaign.settings.get("prospect_timezone"),
                "sent": per_step_sent[step.number],
            }
            for step in campaign.steps
        ],
    }
