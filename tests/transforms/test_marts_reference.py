"""Random raw tables full of awkward rows, checked against a plain-Python reading of docs/metrics.md.

Each seed generates duplicated fetches (the latest wins), deletions at every level, memberships and
opens of unknown or deleted prospects, every spelling of statuses and interest, NULLs and zero sends.
The expected marts are computed below in Python, row by row, without SQL.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import duckdb
import pytest

from transforms.build import build_models

from .conftest import DATASET
from .raw import Row, by_key, read_table, write_tables

BASE = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
STATUS_SPELLINGS = {
    "ACTIVE": ["ACTIVE", "active"],
    "REPLIED": ["REPLIED", "replied", "RESPONDED"],
    "AUTOREPLIED": ["AUTOREPLIED", "auto-replied"],
    "BOUNCED": ["BOUNCED"],
    "INVALID": ["INVALID", " invalid "],
    "OPT_OUT": ["OPT-OUT", "OPT_OUT", "opt out", "OPTOUT"],
    "TO_CHECK": ["TO-CHECK"],
    "COMPLETED": ["COMPLETED"],
}
INTEREST_SPELLINGS = {
    "INTERESTED": ["INTERESTED", "interested"],
    "MAYBE_LATER": ["MAYBE-LATER", "MAYBE_LATER", "maybe later"],
    "NOT_INTERESTED": ["NOT-INTERESTED", "not_interested"],
    "NOT_MARKED": ["NOT_MARKED", "NOT-MARKED", "", None],
}
GLOBAL = ["ACTIVE", "REPLIED", "BOUNCED", "BLACKLIST", "INVALID"]


def _when(rng: random.Random) -> dt.datetime:
    return BASE + dt.timedelta(minutes=rng.randrange(0, 20 * 24 * 60))


def _versions(rng: random.Random, final: Row, key_time: dt.datetime) -> list[Row]:
    """The final row plus up to two older fetches of the same key with other values."""
    rows = [dict(final, _fetched_at=key_time)]
    for back in range(rng.randrange(0, 3)):
        older = dict(final, _fetched_at=key_time - dt.timedelta(hours=back + 1))
        older["deleted_at"] = None if rng.random() < 0.5 else key_time
        for field in ("status", "sent_mails", "name", "email"):
            if field in older:
                older[field] = "ACTIVE" if field == "status" else (7 if field == "sent_mails" else "old")
        rows.append(older)
    rng.shuffle(rows)
    return rows


def _deleted_or_live(
    rng: random.Random, deleted_share: float, final: Row, fetched: dt.datetime, live: dict[Any, Row], key: Any
) -> list[Row]:
    """Delete `final` at `fetched` with probability `deleted_share`, else keep it in `live`; its versions."""
    if rng.random() < deleted_share:
        final["deleted_at"] = fetched
    else:
        live[key] = final
    return _versions(rng, final, fetched)


def generate(seed: int) -> tuple[dict[str, list[Row]], dict[str, Any]]:
    """Raw tables and the facts needed to compute expectations (the latest, non-deleted rows)."""
    rng = random.Random(seed)
    fetched = BASE + dt.timedelta(days=30)
    campaigns, live_campaigns = [], {}
    for cid in range(1, 7):
        final = {"id": cid, "name": f"C{cid}", "status": "RUNNING", "deleted_at": None}
        campaigns += _deleted_or_live(rng, 0.2, final, fetched, live_campaigns, cid)
    prospects, live_prospects = [], {}
    for pid in range(100, 170):
        final = {
            "id": pid,
            "email": f"p{pid}@{rng.choice(['a.com', 'b.org', 'c.net'])}" if rng.random() < 0.95 else None,
            "company": rng.choice(["A Co", "B Co", None]),
            "status": rng.choice(GLOBAL),
            "last_contacted": _when(rng) if rng.random() < 0.8 else None,
            "last_replied": _when(rng) if rng.random() < 0.4 else None,
            "deleted_at": None,
        }
        prospects += _deleted_or_live(rng, 0.15, final, fetched, live_prospects, pid)
    members, live_members = [], {}
    for cid in range(1, 8):  # campaign 7 does not exist
        for pid in rng.sample(range(100, 175), 25):  # ids ≥ 170 do not exist
            status = rng.choice(list(STATUS_SPELLINGS))
            interest = rng.choice(list(INTEREST_SPELLINGS))
            final = {
                "campaign_id": cid,
                "prospect_id": pid,
                "status": rng.choice(STATUS_SPELLINGS[status]) if rng.random() < 0.95 else None,
                "interested": rng.choice(INTEREST_SPELLINGS[interest]),
                "sent_mails": rng.choice([None, 0, 1, 2, 3]),
                "deleted_at": fetched if rng.random() < 0.1 else None,
            }
            members += _versions(rng, final, fetched)
            if final["deleted_at"] is None and cid in live_campaigns and pid in live_prospects:
                normal = status if final["status"] is not None else None
                live_members[(cid, pid)] = {
                    "status": normal,
                    "interest": interest,
                    "sends": final["sent_mails"] or 0,
                }
    opens, clicks = [], []
    for _ in range(160):
        cid, pid, when = rng.randrange(1, 8), rng.randrange(100, 175), _when(rng)
        opens += [{"prospect_id": pid, "campaign_id": cid, "opened_at": when}] * rng.choice([1, 1, 2])
    for _ in range(60):
        cid, pid, when = rng.randrange(1, 8), rng.randrange(100, 175), _when(rng)
        clicks.append(
            {"prospect_id": pid, "campaign_id": cid, "url": rng.choice(["u1", "u2"]), "clicked_at": when}
        )
    tables = {
        "campaigns": campaigns,
        "prospects": prospects,
        "campaign_prospects": members,
        "prospect_opens": opens,
        "prospect_clicks": clicks,
    }
    facts = {"campaigns": live_campaigns, "prospects": live_prospects, "members": live_members}
    return tables, facts


def expected(tables: dict[str, list[Row]], facts: dict[str, Any]) -> dict[str, Any]:
    """The marts' numbers, computed in Python."""
    members: dict[tuple[int, int], dict[str, Any]] = facts["members"]
    prospects: dict[int, Row] = facts["prospects"]
    opens: dict[tuple[int, int], set[dt.datetime]] = defaultdict(set)
    for o in tables["prospect_opens"]:
        if (o["campaign_id"], o["prospect_id"]) in members:
            opens[(o["campaign_id"], o["prospect_id"])].add(o["opened_at"])
    clicks: dict[tuple[int, int], set[tuple[str, dt.datetime]]] = defaultdict(set)
    for k in tables["prospect_clicks"]:
        if (k["campaign_id"], k["prospect_id"]) in members:
            clicks[(k["campaign_id"], k["prospect_id"])].add((k["url"], k["clicked_at"]))
    contacted_in: dict[int, int] = defaultdict(int)
    replied_in: dict[int, int] = defaultdict(int)
    for (_, pid), m in members.items():
        contacted_in[pid] += m["sends"] > 0
        replied_in[pid] += m["status"] == "REPLIED"
    pairs: dict[tuple[int, int], dict[str, Any]] = {}
    for (cid, pid), m in members.items():
        p = prospects[pid]
        last_contacted = p["last_contacted"] if m["sends"] > 0 and contacted_in[pid] == 1 else None
        last_replied = p["last_replied"] if m["status"] == "REPLIED" and replied_in[pid] == 1 else None
        pairs[(cid, pid)] = {
            "status": m["status"],
            "interest": m["interest"],
            "sends": m["sends"],
            "was_opened": bool(opens[(cid, pid)]),
            "was_clicked": bool(clicks[(cid, pid)]),
            "observed_opens": len(opens[(cid, pid)]),
            "clicked_links": len({url for url, _ in clicks[(cid, pid)]}),
            "last_contacted_at": last_contacted,
            "last_replied_at": last_replied,
        }
    campaigns: dict[int, dict[str, int]] = {}
    for cid in facts["campaigns"]:
        mine = [pairs[k] for k in pairs if k[0] == cid]
        campaigns[cid] = {
            "enrolled": len(mine),
            "contacted": sum(m["sends"] > 0 for m in mine),
            "emails_sent": sum(m["sends"] for m in mine),
            "unique_opened": sum(m["was_opened"] for m in mine),
            "unique_clicked": sum(m["was_clicked"] for m in mine),
            "replied": sum(m["status"] == "REPLIED" for m in mine),
            "autoreplied": sum(m["status"] == "AUTOREPLIED" for m in mine),
            "bounced": sum(m["status"] == "BOUNCED" for m in mine),
            "invalid": sum(m["status"] == "INVALID" for m in mine),
            "opted_out": sum(m["status"] == "OPT_OUT" for m in mine),
            "interested": sum(m["interest"] == "INTERESTED" for m in mine),
            "maybe_later": sum(m["interest"] == "MAYBE_LATER" for m in mine),
            "not_interested": sum(m["interest"] == "NOT_INTERESTED" for m in mine),
            "positive_replies": sum(m["status"] == "REPLIED" and m["interest"] == "INTERESTED" for m in mine),
        }
    daily: dict[tuple[int, dt.date], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for (cid, pid), m in pairs.items():
        if m["last_contacted_at"]:
            daily[(cid, m["last_contacted_at"].date())]["contacts"].add(pid)
            if m["status"] == "BOUNCED":
                daily[(cid, m["last_contacted_at"].date())]["bounces"].add(pid)
        if m["last_replied_at"]:
            daily[(cid, m["last_replied_at"].date())]["replies"].add(pid)
        for when in opens[(cid, pid)]:
            daily[(cid, when.date())]["opens"].add(pid)
        for _, when in clicks[(cid, pid)]:
            daily[(cid, when.date())]["clicks"].add(pid)
    days = {
        key: {kind: len(daily[key][kind]) for kind in ("contacts", "opens", "clicks", "replies", "bounces")}
        for key in daily
    }
    stages: dict[int, str] = {}
    for pid, p in prospects.items():
        mine = [pairs[k] for k in pairs if k[1] == pid]
        statuses = {m["status"] for m in mine}
        if "BOUNCED" in statuses or p["status"] == "BOUNCED":
            stages[pid] = "bounced"
        elif "INVALID" in statuses or p["status"] == "INVALID":
            stages[pid] = "invalid"
        elif "OPT_OUT" in statuses:
            stages[pid] = "opted_out"
        elif p["status"] == "BLACKLIST":
            stages[pid] = "blacklisted"
        elif any(m["interest"] == "INTERESTED" for m in mine):
            stages[pid] = "interested"
        elif "REPLIED" in statuses or p["status"] == "REPLIED":
            stages[pid] = "replied"
        elif any(m["was_opened"] or m["was_clicked"] for m in mine):
            stages[pid] = "engaged"
        elif any(m["sends"] > 0 for m in mine) or p["last_contacted"] is not None:
            stages[pid] = "contacted"
        else:
            stages[pid] = "new"
    return {"pairs": pairs, "campaigns": campaigns, "daily": days, "stages": stages}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_marts_match_a_python_reference(seed: int, duck: duckdb.DuckDBPyConnection) -> None:
    tables, facts = generate(seed)
    want = expected(tables, facts)
    write_tables(duck, DATASET, tables)
    build_models(duck, DATASET)
    assert len(want["pairs"]) > 40 and len(want["campaigns"]) >= 3  # the seed produced a real account

    pairs = by_key(read_table(duck, DATASET, "campaign_prospect_engagement"), "campaign_id", "prospect_id")
    assert set(pairs) == set(want["pairs"])
    for key, row in want["pairs"].items():
        assert {c: pairs[key][c] for c in row} == row, key

    campaigns = by_key(read_table(duck, DATASET, "campaign_performance"), "campaign_id")
    assert set(campaigns) == set(want["campaigns"])
    for cid, row in want["campaigns"].items():
        assert {c: campaigns[cid][c] for c in row} == row, cid

    daily = by_key(read_table(duck, DATASET, "campaign_daily_activity"), "campaign_id", "activity_date")
    got = {
        k: {c: r[c] for c in ("contacts", "opens", "clicks", "replies", "bounces")} for k, r in daily.items()
    }
    assert got == want["daily"]

    prospects = by_key(read_table(duck, DATASET, "prospect_engagement"), "prospect_id")
    assert {pid: r["lifecycle_stage"] for pid, r in prospects.items()} == want["stages"]
