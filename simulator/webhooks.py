"""Webhook delivery: the account's events become POSTs to the subscribed URLs.

When an event of the account happens while some `(target_url, event)` pair is subscribed, the
`WebhookOutbox` renders the documented payload (reference section 8) and queues it for that pair. A
background thread (`WebhookOutbox.run`) sends each pair's queue as JSON arrays of at most 100 objects
of one event type. A 2xx answer acknowledges the batch; 310 or 410 unsubscribes the pair (its queue is
dropped); any other answer, a timeout or a refused connection is retried with exponential back-off
(no jitter, so tests are deterministic); with `webhook_max_failures` set, that many failures in a
row unsubscribe the pair as well. Every payload ever queued stays in `deliveries` with its
state: the ground truth a test compares a receiver's database with.

Nothing here runs while nobody is subscribed: the account calls `publish` only when its subscription
list is not empty, so generating a large account costs the same as without webhooks.
"""

from __future__ import annotations

import hashlib
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson

from . import model as m
from .config import SimulatorConfig
from .render import fmt_ts

MAX_BATCH = 100
UNSUBSCRIBE_STATUSES = (310, 410)
PENDING, ACKNOWLEDGED, DROPPED = "pending", "acknowledged", "dropped"

# Event log type → webhook event (interest changes map by their value, see `method_of`).
METHODS = {
    m.SENT: "campaign_sent",
    m.OPENED: "email_opened",
    m.CLICKED: "link_clicked",
    m.REPLIED: "prospect_replied",
    m.AUTOREPLIED: "prospect_autoreplied",
    m.BOUNCED: "prospect_bounced",
    m.INVALID: "prospect_invalid",
    m.OPTED_OUT: "prospect_opt_out",
}
INTEREST_METHODS = {
    "INTERESTED": "prospect_interested",
    "MAYBE_LATER": "prospect_maybe_later",
    "NOT_INTERESTED": "prospect_not_interested",
}


@dataclass
class Delivery:
    """One payload queued for one subscribed URL.

    Attributes:
        target_url: Where it goes.
        event: The webhook event name (`method` of the payload).
        payload: The event object exactly as sent (one element of the posted array).
        state: `pending`, `acknowledged` (a 2xx answer) or `dropped` (the pair was unsubscribed).
        attempts: POSTs that carried it.
    """

    target_url: str
    event: str
    payload: dict[str, Any]
    state: str = PENDING
    attempts: int = 0


def method_of(ev: m.Event) -> str | None:
    """The webhook event an event of the log triggers, or None (e.g. an interest reset)."""
    if ev.type == m.INTEREST:
        return INTEREST_METHODS.get(ev.value or "")
    return METHODS.get(ev.type)


def _email_id(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big")


class WebhookOutbox:
    """Payload queues per subscribed pair, the delivery loop and the ground truth of what was sent.

    Args:
        config: The simulator's settings (time zone, firm id, back-off, timeouts).
        subscriptions: The account's subscribed `{"target_url", "event"}` pairs, shared with the account:
            a pair that answers 310/410 or keeps failing is removed from it.
        lock: The account's lock, held while a pair is removed from `subscriptions`.
    """

    def __init__(
        self, config: SimulatorConfig, subscriptions: list[dict[str, str]], lock: threading.RLock
    ) -> None:
        self.config = config
        self.subscriptions = subscriptions
        self.lock = lock
        self.deliveries: list[Delivery] = []
        self.posts: list[tuple[str, str, int, int]] = []  # (url, event, batch size, HTTP status or 0)
        self._cond = threading.Condition()
        self._queues: dict[tuple[str, str], deque[Delivery]] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._next_try: dict[tuple[str, str], float] = {}
        self._opened: set[tuple[int, int | None, int | None]] = set()
        self._stop = threading.Event()
        self._busy = False

    # ------------------------------------------------------------------ producing
    def publish(self, ev: m.Event, p: m.Prospect, ms: m.Membership | None, camp: m.Campaign | None) -> None:
        """Queue `ev` (of prospect `p`, membership `ms` in `camp`) for every pair subscribed to its event.

        Called under the account lock.
        """
        method = method_of(ev)
        if method is None:
            return
        targets = [h["target_url"] for h in self.subscriptions if h["event"] == method]
        if not targets:
            return
        step = ev.step if ev.step is not None else (ms.sent if ms is not None else None)
        if ev.type == m.OPENED:
            # `email_opened` fires for the first open of an email only. The engine gives the first open
            # of a step the version shown and later opens none; a manual open counts once per step.
            key = (ev.prospect_id, ev.campaign_id, step)
            if key in self._opened or (ev.step is not None and ev.version is None):
                return
            self._opened.add(key)
        payload = self._payload(method, ev, p, ms, camp, step)
        with self._cond:
            for url in targets:
                delivery = Delivery(url, method, payload)
                self.deliveries.append(delivery)
                self._queues.setdefault((url, method), deque()).append(delivery)
            self._cond.notify_all()

    def _payload(
        self,
        method: str,
        ev: m.Event,
        p: m.Prospect,
        ms: m.Membership | None,
        camp: m.Campaign | None,
        step: int | None,
    ) -> dict[str, Any]:
        tz = self.config.timezone
        f = p.fields
        prospect: dict[str, Any] = {"id": p.id}
        for name in m.TEXT_FIELDS:
            prospect[name] = f[name]
        for name in m.SNIPPETS:
            prospect[name] = f[name]
        prospect.update(
            snippet_labels=dict(p.snippet_labels),
            last_contacted=fmt_ts(p.last_contacted, tz),
            status=p.status,
            in_campaign=ms is not None,
            emails_sent=ms.sent if ms is not None else p.sent_mails,
            imported=fmt_ts(p.created, tz),
            interested=ms.interest if ms is not None else "",
            campaign_id=camp.id if camp is not None else "",
            campaign_name=camp.name if camp is not None else "",
            campaign_email=ms.campaign_email if ms is not None else "",
            campaign_emails=list(camp.mailboxes) if camp is not None else [],
            campaign_email_sent=ms.campaign_email if ms is not None else "",
            step=step if camp is not None else None,
            step_type="EMAIL" if camp is not None else "",
            followup_after="",
        )
        out: dict[str, Any] = {"method": method, "prospect": prospect}
        email_id = _email_id(p.id, ev.campaign_id, step, ev.ts, ev.type)
        if ev.type == m.SENT and camp is not None:
            out["email"] = {
                "id": email_id,
                "campaign_id": camp.id,
                "message_id": f"<{email_id}@woodpecker-sim.example>",
                "name_from": camp.from_name,
                "email_from": prospect["campaign_email"],
                "name_to": f"{f['first_name']} {f['last_name']}".strip(),
                "email_to": f["email"],
                "subject": f"Quick question about {f['company']}",
                "sent": fmt_ts(ev.ts, tz),
                "step": step,
            }
        elif ev.type in (m.REPLIED, m.AUTOREPLIED):
            out["email"] = {
                "id": email_id,
                "mail_id": email_id + 1,
                "subject": f"Re: Quick question about {f['company']}",
                "sender": f["email"],
                "email": f["email"],
                "date": fmt_ts(ev.ts, tz),
                "message": "Thanks, let's talk." if ev.type == m.REPLIED else "I am out of office.",
            }
        elif ev.type == m.CLICKED:
            out["click_url"] = ev.url or ""
            out["email_no"] = f"#{step}" if step else ""
        elif ev.type == m.OPENED:
            out["email_no"] = f"#{step}" if step else ""
        out["timestamp"] = fmt_ts(ev.ts, tz)
        out["firm_id"] = self.config.firm_id
        return out

    def drop(self, target_url: str, event: str) -> None:
        """Forget the pending payloads of an unsubscribed pair (they are marked `dropped`)."""
        with self._cond:
            queue = self._queues.pop((target_url, event), deque())
            for delivery in queue:
                delivery.state = DROPPED
            self._failures.pop((target_url, event), None)
            self._next_try.pop((target_url, event), None)
            self._cond.notify_all()

    # ------------------------------------------------------------------ ground truth
    def acknowledged(self) -> list[Delivery]:
        """Deliveries a receiver acknowledged with a 2xx answer, in the order they were generated."""
        with self._cond:
            return [d for d in self.deliveries if d.state == ACKNOWLEDGED]

    def pending(self) -> int:
        """Payloads still waiting for an acknowledgement."""
        with self._cond:
            return sum(len(q) for q in self._queues.values())

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending and no POST is under way; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or any(self._queues.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    # ------------------------------------------------------------------ delivering
    def stop(self) -> None:
        """Ask the delivery loop to end."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def run(self) -> None:
        """The delivery loop: one batch in flight at a time, pairs served in turn."""
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch is None:
                continue
            key, items = batch
            status = self._post(key[0], [d.payload for d in items])
            self._settle(key, items, status)

    def _next_batch(self) -> tuple[tuple[str, str], list[Delivery]] | None:
        with self._cond:
            now = time.monotonic()
            ready = [k for k, q in self._queues.items() if q and self._next_try.get(k, 0.0) <= now]
            if not ready:
                waits = [self._next_try.get(k, 0.0) - now for k, q in self._queues.items() if q]
                self._cond.wait(max(0.005, min(waits)) if waits else 0.5)
                return None
            key = min(ready, key=lambda k: self._next_try.get(k, 0.0))
            items = list(self._queues[key])[:MAX_BATCH]
            for delivery in items:
                delivery.attempts += 1
            self._busy = True
            return key, items

    def _post(self, url: str, payloads: list[dict[str, Any]]) -> int:
        request = urllib.request.Request(
            url,
            data=orjson.dumps(payloads),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "Woodpecker-Webhooks-Sim"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.webhook_timeout_s) as answer:
                answer.read()
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (OSError, ValueError):
            return 0  # refused, reset, timed out: no answer

    def _settle(self, key: tuple[str, str], items: list[Delivery], status: int) -> None:
        self.posts.append((key[0], key[1], len(items), status))
        ok = 200 <= status < 300
        with self._cond:
            self._busy = False
            queue = self._queues.get(key)
            failures = 0 if ok else self._failures.get(key, 0) + 1
            if ok:
                # acknowledged even when the pair was unsubscribed meanwhile: the receiver has them
                for delivery in items:
                    delivery.state = ACKNOWLEDGED
                    if queue and queue[0] is delivery:
                        queue.popleft()
                self._failures.pop(key, None)
                self._next_try.pop(key, None)
            elif queue is not None:
                self._failures[key] = failures
                cfg = self.config
                delay = min(cfg.webhook_retry_max_s, cfg.webhook_retry_base_s * 2 ** (failures - 1))
                self._next_try[key] = time.monotonic() + delay
            self._cond.notify_all()
        limit = self.config.webhook_max_failures
        if status in UNSUBSCRIBE_STATUSES or (not ok and limit and failures >= limit):
            self._unsubscribe(key)

    def _unsubscribe(self, key: tuple[str, str]) -> None:
        """The receiver asked to stop (310/410) or kept failing: remove the pair, drop its queue."""
        with self.lock:
            self.subscriptions[:] = [h for h in self.subscriptions if (h["target_url"], h["event"]) != key]
        self.drop(*key)
