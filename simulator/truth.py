"""Ground truth: the complete current state and engagement aggregates straight from the event log.

Typed and independent of any connector: timestamps are tz-aware UTC pandas timestamps (NaT for never),
empty API strings are None.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import model as m
from .account import Account
from .model import SNIPPETS, TEXT_FIELDS
from .render import extra_field_value
from .stats import campaign_stats

ENGAGEMENT_COLUMNS = (
    "enrolled",
    "contacted",
    "emails_sent",
    "unique_opened",
    "unique_clicked",
    "replied",
    "autoreplied",
    "bounced",
    "invalid",
    "opted_out",
    "interested",
    "maybe_later",
    "not_interested",
)


def _ts(value: int | None) -> pd.Timestamp:
    return pd.Timestamp(value, unit="s", tz="UTC") if value is not None else pd.NaT


def _text(value: str) -> str | None:
    return value if value != "" else None


@dataclass
class GroundTruth:
    """A snapshot of the account as DataFrames (see docs/simulator.md for every column)."""

    prospects: pd.DataFrame
    campaigns: pd.DataFrame
    campaign_steps: pd.DataFrame
    campaign_step_versions: pd.DataFrame
    campaign_prospects: pd.DataFrame
    opens: pd.DataFrame
    clicks: pd.DataFrame
    campaign_stats: pd.DataFrame
    events: pd.DataFrame
    campaign_engagement: pd.DataFrame
    campaign_daily: pd.DataFrame
    step_engagement: pd.DataFrame


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def snapshot(account: Account) -> GroundTruth:
    """Build the ground truth of the account as it is now."""
    with account.lock:
        prospect_cols = [
            "id",
            *TEXT_FIELDS,
            "organization_id",
            "last_contacted",
            "last_replied",
            "updated",
            "encrypted",
            *SNIPPETS,
            "snippet_labels",
            "status",
        ]
        extra = account.config.extra_prospect_field
        if extra is not None:
            prospect_cols.append(extra)
        prospects = []
        for p in sorted(account.prospects.values(), key=lambda p: p.id):
            row: dict[str, Any] = {"id": p.id}
            row.update({k: _text(p.fields[k]) for k in TEXT_FIELDS})
            row.update(
                organization_id=p.organization_id,
                last_contacted=_ts(p.last_contacted),
                last_replied=_ts(p.last_replied),
                updated=_ts(p.updated),
                encrypted=p.encrypted,
            )
            row.update({k: _text(p.fields[k]) for k in SNIPPETS})
            row.update(snippet_labels=dict(p.snippet_labels), status=p.status)
            if extra is not None:
                row[extra] = extra_field_value(p, extra)
            prospects.append(row)

        campaigns, steps, versions, stats = [], [], [], []
        for c in sorted(account.campaigns.values(), key=lambda c: c.id):
            campaigns.append(
                {
                    "id": c.id,
                    "name": c.name,
                    "status": c.status,
                    "from_name": c.from_name,
                    "from_email": c.from_email,
                    "created": _ts(c.created),
                    "folder_name": _text(c.folder_name),
                    "folder_id": c.folder_id,
                    "per_day": c.per_day,
                    "gdpr_unsubscribe": c.gdpr_unsubscribe,
                    "details_available": not c.unsupported,
                    **{
                        k: c.settings[k]
                        for k in ("timezone", "prospect_timezone", "daily_enroll", "list_unsubscribe")
                    },
                }
            )
            if not c.unsupported:
                for s in c.steps:
                    steps.append(
                        {
                            "campaign_id": c.id,
                            "step_id": s.id,
                            "step_number": s.number,
                            "type": "EMAIL",
                            "followup_after_range": s.followup_range,
                            "followup_after_value": s.followup_value,
                            "delivery_time": s.delivery_time,
                        }
                    )
                    for v in s.versions:
                        versions.append(
                            {
                                "campaign_id": c.id,
                                "step_id": s.id,
                                "step_number": s.number,
                                "version_id": v["id"],
                                "version": v["version"],
                                "subject": _text(v["subject"]),
                                "message": v["message"],
                                "signature": v["signature"],
                                "track_opens": v["track_opens"],
                            }
                        )
            st = campaign_stats(account, c)
            st.pop("emails")
            stats.append({"campaign_id": c.id, **st})

        members, opens, clicks = [], [], []
        for (pid, cid), ms in sorted(account.memberships.items()):
            members.append(
                {
                    "campaign_id": cid,
                    "prospect_id": pid,
                    "status": ms.status,
                    "sent_mails": ms.sent,
                    "interested": ms.interest,
                    "campaign_email": ms.campaign_email,
                }
            )
            if ms.last_open is not None:
                opens.append({"prospect_id": pid, "campaign_id": cid, "last_open": _ts(ms.last_open)})
            for url, ts in sorted(ms.last_clicks.items()):
                clicks.append({"prospect_id": pid, "campaign_id": cid, "url": url, "last_clicked": _ts(ts)})

        events = [
            {
                "ts": _ts(e.ts),
                "prospect_id": e.prospect_id,
                "campaign_id": e.campaign_id,
                "type": e.type,
                "step": e.step,
                "version": e.version,
                "url": e.url,
                "value": e.value,
                "prospect_deleted": e.prospect_id in account.deleted_prospects,
            }
            for e in account.events
        ]
        engagement, daily, by_step = _aggregates(account)

    return GroundTruth(
        prospects=_frame(prospects, prospect_cols),
        campaigns=pd.DataFrame(campaigns),
        campaign_steps=_frame(
            steps,
            [
                "campaign_id",
                "step_id",
                "step_number",
                "type",
                "followup_after_range",
                "followup_after_value",
                "delivery_time",
            ],
        ),
        campaign_step_versions=_frame(
            versions,
            [
                "campaign_id",
                "step_id",
                "step_number",
                "version_id",
                "version",
                "subject",
                "message",
                "signature",
                "track_opens",
            ],
        ),
        campaign_prospects=_frame(
            members, ["campaign_id", "prospect_id", "status", "sent_mails", "interested", "campaign_email"]
        ),
        opens=_frame(opens, ["prospect_id", "campaign_id", "last_open"]),
        clicks=_frame(clicks, ["prospect_id", "campaign_id", "url", "last_clicked"]),
        campaign_stats=pd.DataFrame(stats),
        events=_frame(
            events,
            [
                "ts",
                "prospect_id",
                "campaign_id",
                "type",
                "step",
                "version",
                "url",
                "value",
                "prospect_deleted",
            ],
        ),
        campaign_engagement=engagement,
        campaign_daily=daily,
        step_engagement=by_step,
    )


def _aggregates(account: Account) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Engagement per campaign, per campaign and day, per step and version, from the event log."""
    live = account.memberships
    kinds: dict[tuple[int, int], set[str]] = defaultdict(set)
    sends: dict[tuple[int, int], int] = defaultdict(int)
    daily: dict[tuple[int, Any], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    step_sends: dict[tuple[int, int, str], int] = defaultdict(int)
    step_replies: dict[tuple[int, int, str], int] = defaultdict(int)
    sent_version: dict[tuple[int, int, int], str] = {}
    day_column = {
        m.SENT: "contacted",
        m.OPENED: "opened",
        m.CLICKED: "clicked",
        m.REPLIED: "replied",
        m.BOUNCED: "bounced",
    }
    for e in account.events:
        key = (e.prospect_id, e.campaign_id or 0)
        if key not in live:
            continue
        kinds[key].add(e.type)
        if e.type in day_column:
            day = pd.Timestamp(e.ts, unit="s", tz="UTC").date()
            daily[(key[1], day)][day_column[e.type]] += 1
        if e.type == m.SENT and e.step is not None:
            sends[key] += 1
            step_sends[(key[1], e.step, e.version or "A")] += 1
            sent_version[(key[0], key[1], e.step)] = e.version or "A"
        if e.type == m.REPLIED and e.step is not None:
            version = sent_version.get((key[0], key[1], e.step), "A")
            step_replies[(key[1], e.step, version)] += 1
    per_campaign: dict[int, dict[str, int]] = {
        cid: dict.fromkeys(ENGAGEMENT_COLUMNS, 0) for cid in account.campaigns
    }
    for (pid, cid), ms in live.items():
        if cid not in per_campaign:
            continue
        row, seen = per_campaign[cid], kinds[(pid, cid)]
        row["enrolled"] += 1
        row["contacted"] += m.SENT in seen
        row["emails_sent"] += sends[(pid, cid)]
        row["unique_opened"] += m.OPENED in seen
        row["unique_clicked"] += m.CLICKED in seen
        row["replied"] += m.REPLIED in seen
        row["autoreplied"] += m.AUTOREPLIED in seen
        row["bounced"] += m.BOUNCED in seen
        row["invalid"] += m.INVALID in seen
        row["opted_out"] += m.OPTED_OUT in seen
        row["interested"] += ms.interest == "INTERESTED"
        row["maybe_later"] += ms.interest == "MAYBE_LATER"
        row["not_interested"] += ms.interest == "NOT_INTERESTED"
    engagement = pd.DataFrame(
        [{"campaign_id": cid, **row} for cid, row in sorted(per_campaign.items())],
        columns=["campaign_id", *ENGAGEMENT_COLUMNS],
    )
    daily_rows = [
        {"campaign_id": cid, "day": day, **{c: counts.get(c, 0) for c in day_column.values()}}
        for (cid, day), counts in sorted(daily.items())
    ]
    daily_frame = pd.DataFrame(daily_rows, columns=["campaign_id", "day", *day_column.values()])
    step_rows = [
        {
            "campaign_id": cid,
            "step_number": step,
            "version": version,
            "sends": n,
            "replies": step_replies.get((cid, step, version), 0),
        }
        for (cid, step, version), n in sorted(step_sends.items())
    ]
    step_frame = pd.DataFrame(
        step_rows, columns=["campaign_id", "step_number", "version", "sends", "replies"]
    )
    return engagement, daily_frame, step_frame
