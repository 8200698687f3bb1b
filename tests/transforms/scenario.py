"""A small hand-built account with the awkward cases, and what the marts must say about it.

Every expected number below was worked out by hand from the rows in `raw_tables()` (the reasoning is
in the comments next to each value), not copied from a model's output.

Cast:
    campaigns  1 Alpha (live; an older fetch was called "Alpha (old)"), 2 Beta (live),
               3 Gone (deleted), 4 Empty (live, no memberships)
    prospects  10 a@acme.com   replied in 1 (interested), not interested in 2; contacted in 1 and 2
               11 b@acme.com   in 1 (maybe-later, opened); its memberships in 2 (deleted) and 3 don't count
               12 c@beta.io    bounced in 1; invalid in 2 (latest of two fetches)
               13 d@gmail.com  enrolled in 1, never contacted
               14 e@acme.com   deleted prospect
               15 f@beta.io    opted out in 2; an older fetch was deleted, the latest is live
               16 g@beta.io    an older fetch was live, the latest is deleted
               17 h@gamma.dev  replied in 2 (interested), contacted 09:00, replied 15:30
               18 (no email)   company Solo, no campaigns
               19 x@acme.com   company Acme, no campaigns
"""

from __future__ import annotations

from typing import Any

from .raw import Row, ts

GONE = ts("2025-03-06 00:00")
OLD = ts("2025-03-05 00:00")
NEW = ts("2025-03-06 12:00")


def _prospect(pid: int, email: str | None, status: str, **extra: Any) -> Row:
    row: Row = {
        "id": pid,
        "email": email,
        "company": None,
        "status": status,
        "last_contacted": None,
        "last_replied": None,
        "updated": OLD,
        "deleted_at": None,
        "_fetched_at": NEW,
    }
    row.update(extra)
    return row


def _member(
    cid: int, pid: int, status: str | None, interested: str | None, sent: int | None, **extra: Any
) -> Row:
    row: Row = {
        "campaign_id": cid,
        "prospect_id": pid,
        "status": status,
        "interested": interested,
        "sent_mails": sent,
        "campaign_email": "Sender@Example.com",
        "deleted_at": None,
        "_fetched_at": NEW,
    }
    row.update(extra)
    return row


def raw_tables() -> dict[str, list[Row]]:
    """The raw tables, shaped like the source loads them."""
    campaigns = [
        {"id": 1, "name": "Alpha (old)", "status": "RUNNING", "deleted_at": None, "_fetched_at": OLD},
        {"id": 1, "name": "Alpha", "status": "RUNNING", "deleted_at": None, "_fetched_at": NEW},
        {"id": 2, "name": "Beta", "status": "PAUSED", "deleted_at": None, "_fetched_at": NEW},
        {"id": 3, "name": "Gone", "status": "RUNNING", "deleted_at": GONE, "_fetched_at": NEW},
        {"id": 4, "name": "Empty", "status": "DRAFT", "deleted_at": None, "_fetched_at": NEW},
    ]
    prospects = [
        _prospect(10, "A@Acme.com ", "REPLIED", company="Acme", last_contacted=ts("2025-03-01 10:00"),
                  last_replied=ts("2025-03-02 12:30")),
        _prospect(11, "b@acme.com", "ACTIVE", company="ACME Inc", last_contacted=ts("2025-03-03 09:00")),
        _prospect(12, "c@beta.io", "BOUNCED", company="", last_contacted=ts("2025-03-01 23:30")),
        _prospect(13, "d@gmail.com", "ACTIVE"),
        _prospect(14, "e@acme.com", "ACTIVE", company="Acme", deleted_at=GONE),
        _prospect(15, "f@beta.io", "ACTIVE", deleted_at=GONE, _fetched_at=OLD),
        _prospect(15, "f@beta.io", "BLACKLIST", last_contacted=ts("2025-03-04 07:00")),
        _prospect(16, "g@beta.io", "ACTIVE", _fetched_at=OLD),
        _prospect(16, "g@beta.io", "ACTIVE", deleted_at=GONE),
        _prospect(17, "h@gamma.dev", "REPLIED", last_contacted=ts("2025-03-04 09:00"),
                  last_replied=ts("2025-03-04 15:30")),
        _prospect(18, None, "ACTIVE", company="Solo"),
        _prospect(19, "x@acme.com", "ACTIVE", company="Acme"),
    ]  # fmt: skip
    memberships = [
        _member(1, 10, "REPLIED", "INTERESTED", 2),
        _member(1, 11, "ACTIVE", "maybe-later", 1),
        _member(1, 12, "BOUNCED", None, 1),
        _member(1, 13, "ACTIVE", None, None),
        _member(1, 14, "ACTIVE", None, 1),  # deleted prospect
        _member(1, 16, "ACTIVE", None, 1),  # prospect deleted in its latest fetch
        _member(2, 10, "ACTIVE", "NOT-INTERESTED", 1),
        _member(2, 11, "ACTIVE", None, 1, deleted_at=GONE),  # membership deleted
        _member(2, 12, "ACTIVE", None, 0, _fetched_at=OLD),
        _member(2, 12, "invalid", "", 0),  # latest fetch of (2, 12)
        _member(2, 15, "OPT-OUT", "NOT_MARKED", 1),
        _member(2, 17, "REPLIED", "interested", 1),
        _member(3, 11, "REPLIED", "INTERESTED", 1),  # deleted campaign
    ]
    opens = [
        {"prospect_id": 10, "campaign_id": 1, "opened_at": ts("2025-03-01 11:00")},
        {"prospect_id": 10, "campaign_id": 1, "opened_at": ts("2025-03-02 08:00")},
        {"prospect_id": 10, "campaign_id": 1, "opened_at": ts("2025-03-02 08:00")},  # same observation twice
        {"prospect_id": 11, "campaign_id": 1, "opened_at": ts("2025-03-03 10:00")},
        {"prospect_id": 14, "campaign_id": 1, "opened_at": ts("2025-03-03 10:00")},  # deleted prospect
        {"prospect_id": 13, "campaign_id": 2, "opened_at": ts("2025-03-03 10:00")},  # not a member of 2
        {"prospect_id": 10, "campaign_id": 3, "opened_at": ts("2025-03-03 10:00")},  # deleted campaign
    ]
    clicks = [
        {"prospect_id": 10, "campaign_id": 1, "url": "https://x.io/a", "clicked_at": ts("2025-03-02 08:05")},
        {"prospect_id": 10, "campaign_id": 1, "url": "https://x.io/b", "clicked_at": ts("2025-03-02 08:06")},
        {"prospect_id": 10, "campaign_id": 1, "url": "https://x.io/a", "clicked_at": ts("2025-03-04 00:00")},
        {"prospect_id": 15, "campaign_id": 2, "url": "https://x.io/a", "clicked_at": ts("2025-03-05 10:00")},
    ]
    stats_counters = ("prospects", "sent", "delivery", "opened", "clicked", "replied", "autoreplied",
                      "bounced", "invalid", "optout", "interested", "not_interested", "maybe_later",
                      "queue", "to_check")  # fmt: skip
    older = dict.fromkeys(stats_counters, 99)
    latest = dict(zip(stats_counters, (6, 5, 4, 2, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0), strict=True))
    stats = [
        {"campaign_id": 1, "captured_at": ts("2025-03-04 00:00"), **older},
        {"campaign_id": 1, "captured_at": ts("2025-03-05 00:00"), **latest},
        {"campaign_id": 3, "captured_at": ts("2025-03-05 00:00"), **older},
    ]
    steps = [
        {"campaign_id": 1, "step_id": "s1", "step_number": 1, "type": "EMAIL", "wait_hours": 0.0},
        {"campaign_id": 1, "step_id": "s2", "step_number": 2, "type": "EMAIL", "wait_hours": 48.0},
        {"campaign_id": 2, "step_id": "s3", "step_number": 1, "type": "EMAIL", "wait_hours": 0.0},
        {"campaign_id": 3, "step_id": "s4", "step_number": 1, "type": "EMAIL", "wait_hours": 0.0},
    ]
    versions = [
        {"campaign_id": 1, "step_id": "s1", "step_number": 1, "version_id": "v1a", "version": "A",
         "subject": "Hi", "track_opens": True},
        {"campaign_id": 1, "step_id": "s1", "step_number": 1, "version_id": "v1b", "version": "B",
         "subject": "Hello", "track_opens": True},
        {"campaign_id": 1, "step_id": "s2", "step_number": 2, "version_id": "v2a", "version": "A",
         "subject": None, "track_opens": True},
        {"campaign_id": 2, "step_id": "s3", "step_number": 1, "version_id": "v3a", "version": "A",
         "subject": "Yo", "track_opens": False},
        {"campaign_id": 3, "step_id": "s4", "step_number": 1, "version_id": "v4a", "version": "A",
         "subject": "Gone", "track_opens": True},
    ]  # fmt: skip
    return {
        "campaigns": campaigns,
        "prospects": prospects,
        "campaign_prospects": memberships,
        "prospect_opens": opens,
        "prospect_clicks": clicks,
        "campaign_stats": stats,
        "campaign_steps": steps,
        "campaign_step_versions": versions,
    }
