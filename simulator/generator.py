"""Deterministic generation of an account from a seed."""

from __future__ import annotations

import gc
import hashlib
import uuid

from .account import Account, FirstSend
from .clock import VirtualClock
from .config import SimulatorConfig
from .fake_prospects import FIRST, WORDS, make_prospect
from .model import CAMPAIGN_STATUSES, Campaign, Membership, Step
from .rand import FastRandom

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def _hex64(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _make_campaign(index: int, rng: FastRandom, start: int, config: SimulatorConfig) -> Campaign:
    cid = 1_234_000 + index * 7
    status = (
        CAMPAIGN_STATUSES[index % len(CAMPAIGN_STATUSES)]
        if index < 12
        else rng.choice(
            ("RUNNING", "RUNNING", "RUNNING", "COMPLETED", "PAUSED", "STOPPED", "DRAFT", "EDITED")
        )
    )
    created = start - rng.randint(10, config.history_days) * 86_400 + rng.randint(0, 86_399)
    mailboxes = [f"sales{j}@woodpecker-sim.example" for j in range(rng.randint(1, 3))]
    steps = []
    for number in range(1, rng.randint(1, 5) + 1):
        versions = []
        for v in range(rng.choice((1, 1, 2, 3)) if number == 1 else rng.choice((1, 1, 2))):
            letter = "ABCDE"[v]
            versions.append(
                {
                    "id": _hex64(config.seed, cid, number, letter),
                    "version": letter,
                    "subject": f"Quick question about {{{{COMPANY}}}} ({letter})" if number == 1 else "",
                    "message": f'<div><p>Hi {{{{FIRST_NAME | "there"}}}},</p><p>Step {number}.</p></div>',
                    "signature": "SENDER" if v % 2 == 0 else "NO_SIGNATURE",
                    "track_opens": rng.random() < 0.85,
                }
            )
        days = DAYS[:5] if rng.random() < 0.8 else DAYS
        delivery = {d: [{"from": "08:00", "to": "18:00"}] for d in days}
        if rng.random() < 0.2:
            delivery["SATURDAY"] = [{"from": "08:00", "to": "10:00"}, {"from": "16:00", "to": "18:00"}]
        steps.append(
            Step(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                number=number,
                followup_range="DAY" if rng.random() < 0.9 else "HOUR",
                followup_value=rng.randint(1, 5),
                delivery_time=delivery,
                versions=versions,
            )
        )
    stop_at = None
    if status in ("PAUSED", "STOPPED", "EDITED"):
        stop_at = start - rng.randint(1, 9) * 86_400
    elif status == "DRAFT":
        stop_at = created
    elif status == "COMPLETED":
        stop_at = start
    return Campaign(
        id=cid,
        name=f"{WORDS[index % len(WORDS)]} outreach #{index + 1}",
        status=status,
        created=created,
        from_name=f"{FIRST[index % len(FIRST)]} from Woodpecker Sim",
        from_email=mailboxes[0],
        mailboxes=mailboxes,
        folder_id=index % 4,
        folder_name=("", "Outbound", "Partners", "Events")[index % 4],
        per_day=rng.choice((50, 100, 200, 500)),
        gdpr_unsubscribe=rng.random() < 0.5,
        settings={
            "timezone": config.timezone,
            "prospect_timezone": rng.random() < 0.3,
            "daily_enroll": rng.choice((25, 50, 100)),
            "gdpr_unsubscribe": rng.random() < 0.5,
            "list_unsubscribe": rng.random() < 0.5,
        },
        email_account_ids=[123_000 + j for j in range(len(mailboxes))],
        start_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        steps=steps,
        unsupported=rng.random() < config.unsupported_share,
        stop_at=stop_at,
    )


def generate(config: SimulatorConfig, clock: VirtualClock) -> Account:
    """Build the account: prospects, campaigns, memberships, and the history up to the clock's now.

    The cyclic garbage collector is paused while millions of long-lived records are created (it would
    re-scan them again and again).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        account = _generate(config, clock)
    finally:
        if was_enabled:
            gc.enable()
    return account


def _enroll_all(
    account: Account, campaigns: list[Campaign], rng: FastRandom, now: int, first_sends: list[FirstSend]
) -> None:
    """Enroll every prospect in a random number of campaigns; collect the first email of each."""
    cap = len(campaigns)
    rate = 1 / account.config.avg_memberships
    expovariate, sample, randint = rng.expovariate, rng.sample, rng.randint
    memberships, by_prospect = account.memberships, account.by_prospect
    for p in account.prospects.values():
        k = min(cap, int(expovariate(rate) + 0.5))
        if not k:
            continue
        pid = p.id
        mine: dict[int, Membership] = {}
        for camp in sample(campaigns, k):
            earliest = max(camp.created, p.created)
            # A running campaign keeps enrolling until today, so some sequences are still under way;
            # the others took their prospects within three weeks of starting.
            window = now - earliest if camp.status == "RUNNING" else 20 * 86_400
            enrolled = earliest + randint(0, max(0, window))
            if enrolled >= now:
                continue
            mailboxes = camp.mailboxes
            ms = Membership(
                pid, camp.id, enrolled, mailboxes[pid % len(mailboxes)], steps_total=len(camp.steps)
            )
            memberships[(pid, camp.id)] = ms
            mine[camp.id] = ms
            if enrolled > p.updated:
                p.updated = enrolled
            if camp.steps and camp.status != "DRAFT":
                first_sends.append((enrolled + randint(60, 8 * 3600), p, ms, camp))
        if mine:
            by_prospect[pid] = mine


def _generate(config: SimulatorConfig, clock: VirtualClock) -> Account:
    account = Account(config, clock)
    rng = FastRandom(config.seed)
    now = clock.ts()
    first = now - config.history_days * 86_400
    # Prospects arrive in import batches: many share the same `updated` second.
    ts = first
    while len(account.prospects) < config.prospects:
        batch = min(rng.choice((1, 1, 3, 20, 200, 1500)), config.prospects - len(account.prospects))
        for _ in range(batch):
            p = make_prospect(rng, ts, account.reserve_id(), config.prospects)
            account.prospects[p.id] = p
        ts += rng.randint(1, max(2, (now - first) // max(1, config.prospects // 50)))
        ts = min(ts, now - 3600)
    for index in range(config.campaigns):
        camp = _make_campaign(index, rng, now, config)
        account.campaigns[camp.id] = camp
    campaigns = list(account.campaigns.values())
    first_sends: list[FirstSend] = []
    if campaigns and config.avg_memberships > 0:
        _enroll_all(account, campaigns, rng, now, first_sends)
    account.start_sends(first_sends)
    account.version += 1
    return account
