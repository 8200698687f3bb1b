"""The live account: state derived from an event log, the event engine, and the mutations tests use."""

from __future__ import annotations

import heapq
import threading
from collections import defaultdict
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from . import model as m
from .clock import VirtualClock
from .config import SimulatorConfig
from .fake_prospects import make_prospect
from .model import Campaign, Event, Membership, Prospect
from .rand import FastRandom
from .webhooks import WebhookOutbox

CLICK_URLS = (
    "https://woodpecker.co/",
    "https://example.com/pricing",
    "https://example.com/case-study",
    "https://calendly.com/demo/30min",
)
# A generated first email: when it is due, to whom, in which membership and campaign.
FirstSend = tuple[int, Prospect, Membership, Campaign]


class Account:
    """A Woodpecker account whose visible state follows from an event log.

    All methods are thread-safe: the HTTP server reads from threads while tests mutate.
    """

    def __init__(self, config: SimulatorConfig, clock: VirtualClock) -> None:
        self.config = config
        self.clock = clock
        self.tz = config.timezone
        self.lock = threading.RLock()
        self.rng = FastRandom(config.seed * 7919 + 1)
        self.prospects: dict[int, Prospect] = {}
        self.campaigns: dict[int, Campaign] = {}
        self.memberships: dict[tuple[int, int], Membership] = {}
        self.by_prospect: dict[int, dict[int, Membership]] = {}
        self.events: list[Event] = []
        self.campaign_events: defaultdict[int, list[Event]] = defaultdict(list)
        self.deleted_prospects: set[int] = set()
        self.deleted_campaigns: dict[int, Campaign] = {}
        # Subscribed `{"target_url", "event"}` pairs; the outbox shares the list, so change it in place.
        self.webhooks: list[dict[str, str]] = []
        self.outbox = WebhookOutbox(config, self.webhooks, self.lock)
        self.version = 0
        self.next_prospect_id = 1_091_100_000
        self._queue: list[tuple[int, int, str, int, int, Any]] = []
        self._seq = 0

    # ----------------------------------------------------------------- bookkeeping
    def _touch(self, p: Prospect | None = None, manual_ts: int | None = None) -> None:
        self.version += 1
        if p is not None:
            p.version += 1
            if manual_ts is not None:
                p.updated = max(p.updated, manual_ts)

    def _schedule(self, ts: int, kind: str, pid: int, cid: int, payload: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (ts, self._seq, kind, pid, cid, payload))

    # ----------------------------------------------------------------- the engine
    def run_until(self, until: int) -> None:
        """Let scheduled sends and their outcomes happen up to `until` (epoch seconds)."""
        with self.lock:
            while self._queue and self._queue[0][0] <= until:
                ts, _, kind, pid, cid, payload = heapq.heappop(self._queue)
                if kind == "send":
                    self._send(ts, pid, cid, until)
                else:
                    self._apply(Event(ts, pid, cid, kind, *payload))

    def start_sends(self, sends: list[FirstSend]) -> None:
        """Schedule first emails `(ts, prospect, membership, campaign)`; those due by now happen at once.

        Due sends run in time order with their whole chain of follow-ups (what a heap would do, since
        everything a due send causes up to now is applied immediately), without a heap of millions.
        The list is sorted in place by time only; sends due in the same second keep the caller's order.
        """
        now = self.clock.ts()
        sends.sort(key=itemgetter(0))
        with self.lock:
            for ts, p, ms, camp in sends:
                if ts <= now:
                    self._chain(ts, p, ms, camp, now)
                else:
                    self._schedule(ts, "send", p.id, camp.id)

    def _send(self, ts: int, pid: int, cid: int, until: int) -> None:
        """Send the membership's next step at `ts`, then its follow-ups that fall due by `until`."""
        ms = self.memberships.get((pid, cid))
        camp = self.campaigns.get(cid)
        p = self.prospects.get(pid)
        if ms is not None and camp is not None and p is not None:
            self._chain(ts, p, ms, camp, until)

    def _chain(self, ts: int, p: Prospect, ms: Membership, camp: Campaign, until: int) -> None:
        """Send a step at `ts` and the follow-ups due by `until`; schedule the first one that is not."""
        next_ts = self._send_step(ts, p, ms, camp, until)
        while next_ts is not None and next_ts <= until:
            next_ts = self._send_step(next_ts, p, ms, camp, until)
        if next_ts is not None:
            self._schedule(next_ts, "send", p.id, camp.id)

    def _send_step(self, ts: int, p: Prospect, ms: Membership, camp: Campaign, until: int) -> int | None:
        """Send one step at `ts` and sample what follows from it; the time of the next step, if any."""
        if ms.terminal or ms.manual_status:
            return None
        if camp.status != "RUNNING" and (camp.stop_at is None or ts > camp.stop_at):
            return None
        if p.status != "ACTIVE" or ms.sent >= len(camp.steps):
            return None
        pid, cid = p.id, camp.id
        rng = self.rng
        step = camp.steps[ms.sent]
        if ms.sent == 0 and rng.random() < 0.01:
            self._apply(Event(ts, pid, cid, m.INVALID), p, ms)
            return None
        version = step.versions[rng.randrange(len(step.versions))]
        self._apply(Event(ts, pid, cid, m.SENT, step.number, version["version"]), p, ms)
        if rng.random() < (0.04 if step.number == 1 else 0.02):
            self._later(ts + rng.randint(60, 6 * 3600), m.BOUNCED, p, ms, until, (step.number,))
            return None
        if version["track_opens"] and rng.random() < 0.45:
            opened = ts + rng.randint(300, 2 * 86_400)
            self._later(opened, m.OPENED, p, ms, until, (step.number, version["version"]))
            if rng.random() < 0.3:
                self._later(opened + rng.randint(3600, 5 * 86_400), m.OPENED, p, ms, until, (step.number,))
            if rng.random() < 0.2:
                url = CLICK_URLS[rng.randrange(len(CLICK_URLS))]
                self._later(opened + rng.randint(5, 600), m.CLICKED, p, ms, until, (step.number, None, url))
        if rng.random() < 0.03:
            self._later(ts + rng.randint(60, 1800), m.AUTOREPLIED, p, ms, until, (step.number,))
        roll = rng.random()
        if roll < 0.06 + (0.02 if step.number == 1 else 0.0):
            replied = ts + rng.randint(1800, 3 * 86_400)
            self._later(replied, m.REPLIED, p, ms, until, (step.number,))
            interest = rng.choices(("INTERESTED", "MAYBE_LATER", "NOT_INTERESTED", None), (4, 2, 3, 1))[0]
            if interest:
                self._later(
                    replied + rng.randint(600, 2 * 86_400),
                    m.INTEREST,
                    p,
                    ms,
                    until,
                    (None, None, None, interest),
                )
            return None
        if roll < 0.066 + (0.02 if step.number == 1 else 0.0):
            self._later(ts + rng.randint(600, 86_400), m.OPTED_OUT, p, ms, until, (step.number,))
            return None
        if ms.sent < len(camp.steps):
            return ts + camp.steps[ms.sent].wait_seconds + rng.randint(0, 4 * 3600)
        return None

    def _later(
        self,
        ts: int,
        kind: str,
        p: Prospect,
        ms: Membership,
        until: int,
        payload: tuple[Any, ...] = (),
    ) -> None:
        """An outcome of membership `ms` at `ts`: applied now when it is due by `until`, else scheduled."""
        if ts <= until:
            self._apply(Event(ts, p.id, ms.campaign_id, kind, *payload), p, ms)
        else:
            self._schedule(ts, kind, p.id, ms.campaign_id, payload)

    def _apply(self, ev: Event, p: Prospect | None = None, ms: Membership | None = None) -> None:
        """Record an event and update everything derived from it.

        The engine passes the prospect and membership it already holds; other callers let them be looked up.
        """
        if p is None:
            p = self.prospects.get(ev.prospect_id)
            ms = self.memberships.get((ev.prospect_id, ev.campaign_id or 0))
            if p is None:
                return
        self.events.append(ev)
        if ev.campaign_id is not None:
            self.campaign_events[ev.campaign_id].append(ev)
        kind, ts = ev.type, ev.ts
        if kind == m.SENT:
            if p.last_contacted is None or ts > p.last_contacted:
                p.last_contacted = ts
            p.sent_mails += 1
            if ms is not None:
                ms.sent += 1
                ms.last_sent = ts
        elif kind in (m.REPLIED, m.AUTOREPLIED):
            if p.last_replied is None or ts > p.last_replied:
                p.last_replied = ts
            if kind == m.REPLIED:
                p.replied = True
                if ms is not None:
                    ms.terminal = "REPLIED"
            elif ms is not None:
                ms.autoreplied = True
        elif kind == m.BOUNCED:
            p.bounced = True
            if ms is not None:
                ms.terminal = "BOUNCED"
        elif kind == m.OPTED_OUT:
            p.opted_out = True
            if ms is not None:
                ms.terminal = "OPT-OUT"
        elif kind == m.INVALID:
            p.invalid = True
            if ms is not None:
                ms.terminal = "INVALID"
        elif kind == m.OPENED:
            if p.last_open is None or ts > p.last_open:
                p.last_open = ts
            if ms is not None and (ms.last_open is None or ts > ms.last_open):
                ms.last_open = ts
        elif kind == m.CLICKED and ev.url:
            p.last_clicks[ev.url] = max(p.last_clicks.get(ev.url, 0), ts)
            if ms is not None:
                ms.last_clicks[ev.url] = max(ms.last_clicks.get(ev.url, 0), ts)
        elif kind == m.INTEREST and ms is not None and ev.value:
            ms.interest = ev.value
        # What `_touch` does, inline: this runs for every one of millions of generated events.
        self.version += 1
        p.version += 1
        if (kind not in m.AUTOMATIC_EVENTS or self.config.auto_bumps_updated) and ts > p.updated:
            p.updated = ts
        if self.webhooks:  # an empty list when nobody subscribed: generation pays one truth test
            camp = self.campaigns.get(ev.campaign_id) if ev.campaign_id is not None else None
            self.outbox.publish(ev, p, ms, camp)

    # ----------------------------------------------------------------- mutations
    def advance(self, seconds: float) -> None:
        """Move the clock; nothing happens in between (see `simulate`)."""
        self.clock.advance(seconds)

    def simulate(self, seconds: float) -> None:
        """Move the clock and let running campaigns send, and prospects open, click, reply and bounce."""
        self.clock.advance(seconds)
        self.run_until(self.clock.ts())

    def _prospect(self, prospect_id: int) -> Prospect:
        p = self.prospects.get(prospect_id)
        if p is None:
            raise KeyError(f"no prospect {prospect_id}")
        return p

    def edit_prospect(self, prospect_id: int, **fields: Any) -> None:
        """Change prospect fields (text fields, snippets, `snippet_labels`, `status`) as a user would."""
        with self.lock:
            p = self._prospect(prospect_id)
            for key, value in fields.items():
                if key == "snippet_labels":
                    p.snippet_labels = dict(value)
                elif key == "status":
                    p.manual_status = None if value == "ACTIVE" else value
                elif key in p.fields:
                    p.fields[key] = "" if value is None else str(value)
                else:
                    raise KeyError(f"unknown prospect field {key}")
            self._touch(p, self.clock.ts())

    def reserve_id(self) -> int:
        """The next prospect id (ids grow with gaps, as database sequences do)."""
        with self.lock:
            pid = self.next_prospect_id
            self.next_prospect_id += 1 + (pid % 3 == 0)
            return pid

    def add_prospects(self, n: int, ids: list[int] | None = None, **fields: Any) -> list[int]:
        """Add `n` new prospects now (with reserved `ids` if given); returns their ids."""
        with self.lock:
            ids_out = []
            for i in range(n):
                pid = ids[i] if ids else self.reserve_id()
                p = make_prospect(self.rng, self.clock.ts(), pid, self.config.prospects)
                for key, value in fields.items():
                    p.fields[key] = str(value)
                self.prospects[p.id] = p
                ids_out.append(p.id)
            self._touch()
            return ids_out

    def delete_prospect(self, prospect_id: int, campaign_ids: Iterable[int] | None = None) -> bool:
        """Delete a prospect globally, or only from some campaigns; False if there was nothing to delete."""
        with self.lock:
            if prospect_id not in self.prospects:
                return False
            if campaign_ids is not None:
                found = False
                for cid in campaign_ids:
                    if self.memberships.pop((prospect_id, cid), None) is not None:
                        self.by_prospect.get(prospect_id, {}).pop(cid, None)
                        found = True
                self._touch(self.prospects[prospect_id], self.clock.ts())
                return found
            del self.prospects[prospect_id]
            for cid in list(self.by_prospect.pop(prospect_id, {})):
                self.memberships.pop((prospect_id, cid), None)
            self.deleted_prospects.add(prospect_id)
            self._touch()
            return True

    def enroll(
        self,
        prospect_id: int,
        campaign_id: int,
        campaign_email: str | None = None,
        send_after: int | None = None,
    ) -> Membership:
        """Add a prospect to a campaign now (a manual change); the first email follows if it runs."""
        with self.lock:
            p = self._prospect(prospect_id)
            camp = self.campaigns[campaign_id]
            key = (prospect_id, campaign_id)
            if key in self.memberships:
                return self.memberships[key]
            email = campaign_email or camp.mailboxes[prospect_id % len(camp.mailboxes)]
            ms = Membership(prospect_id, campaign_id, self.clock.ts(), email, steps_total=len(camp.steps))
            self.memberships[key] = ms
            self.by_prospect.setdefault(prospect_id, {})[campaign_id] = ms
            self._touch(p, self.clock.ts())
            if camp.status == "RUNNING" and camp.steps:
                first = max(self.clock.ts() + 60, send_after or 0)
                self._schedule(first, "send", prospect_id, campaign_id)
            return ms

    def _record(self, kind: str, prospect_id: int, campaign_id: int | None, **extra: Any) -> None:
        with self.lock:
            self._prospect(prospect_id)
            self._apply(Event(self.clock.ts(), prospect_id, campaign_id, kind, **extra))

    def record_reply(self, prospect_id: int, campaign_id: int) -> None:
        """The prospect replies now."""
        ms = self.memberships.get((prospect_id, campaign_id))
        self._record(m.REPLIED, prospect_id, campaign_id, step=ms.sent if ms else None)

    def record_autoreply(self, prospect_id: int, campaign_id: int) -> None:
        """An automatic reply arrives now."""
        self._record(m.AUTOREPLIED, prospect_id, campaign_id)

    def record_bounce(self, prospect_id: int, campaign_id: int) -> None:
        """The last email bounces now."""
        self._record(m.BOUNCED, prospect_id, campaign_id)

    def record_open(self, prospect_id: int, campaign_id: int) -> None:
        """The prospect opens an email now."""
        self._record(m.OPENED, prospect_id, campaign_id)

    def record_click(self, prospect_id: int, campaign_id: int, url: str = CLICK_URLS[0]) -> None:
        """The prospect clicks `url` now."""
        self._record(m.CLICKED, prospect_id, campaign_id, url=url)

    def record_opt_out(self, prospect_id: int, campaign_id: int) -> None:
        """The prospect unsubscribes now (global BLACKLIST)."""
        self._record(m.OPTED_OUT, prospect_id, campaign_id)

    def record_send(self, prospect_id: int, campaign_id: int) -> None:
        """An email of the campaign goes out to the prospect now."""
        ms = self.memberships[(prospect_id, campaign_id)]
        self._record(m.SENT, prospect_id, campaign_id, step=ms.sent + 1, version="A")

    def set_interest(self, prospect_id: int, campaign_id: int, interest: str) -> None:
        """A user marks the prospect's interest in a campaign (manual: bumps `updated`)."""
        if interest not in m.INTERESTS:
            raise ValueError(f"interest must be one of {m.INTERESTS}")
        self._record(m.INTEREST, prospect_id, campaign_id, value=interest)

    def set_membership_status(self, prospect_id: int, campaign_id: int, status: str) -> None:
        """A user changes the campaign-level status (e.g. PAUSED, TO-CHECK, ACTIVE)."""
        with self.lock:
            ms = self.memberships[(prospect_id, campaign_id)]
            ms.manual_status = None if status == "ACTIVE" else status
            self._touch(self.prospects[prospect_id], self.clock.ts())

    def delete_campaign(self, campaign_id: int) -> bool:
        """Delete a campaign and its memberships."""
        with self.lock:
            camp = self.campaigns.pop(campaign_id, None)
            if camp is None:
                return False
            self.deleted_campaigns[campaign_id] = camp
            for pid in [pid for (pid, cid) in self.memberships if cid == campaign_id]:
                self.memberships.pop((pid, campaign_id), None)
                self.by_prospect.get(pid, {}).pop(campaign_id, None)
            self._touch()
            return True

    def edit_campaign(self, campaign_id: int, **changes: Any) -> None:
        """Change a campaign's name or status (status changes to RUNNING resume sending)."""
        with self.lock:
            camp = self.campaigns[campaign_id]
            for key, value in changes.items():
                if key not in ("name", "status", "per_day", "folder_name"):
                    raise KeyError(f"cannot edit campaign field {key}")
                setattr(camp, key, value)
            if changes.get("status") not in (None, "RUNNING"):
                camp.stop_at = self.clock.ts()
            camp.version += 1
            self._touch()

    # ----------------------------------------------------------------- reads
    def memberships_of(self, prospect_id: int) -> list[tuple[Membership, Campaign]]:
        """The prospect's memberships with their campaigns, by campaign id."""
        out = []
        for cid in sorted(self.by_prospect.get(prospect_id, {})):
            ms = self.memberships.get((prospect_id, cid))
            camp = self.campaigns.get(cid)
            if ms is not None and camp is not None:
                out.append((ms, camp))
        return out
