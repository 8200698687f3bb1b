"""How the simulator delivers: batches of ≤100 of one event, retries with back-off, 310/410, first opens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from simulator import Simulator
from simulator import model as m
from simulator.webhooks import MAX_BATCH

from .conftest import FAST_RETRIES, generate_activity


class Scripted(ThreadingHTTPServer):
    """Records every POST body; answers with the scripted statuses first, then 200."""

    daemon_threads = True

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.statuses = statuses
        self.bodies: list[tuple[int, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/t"


class ScriptedHandler(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            status = self.server.statuses.pop(0) if self.server.statuses else 200
            self.server.bodies.append((status, body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[Scripted] = []

    def make(statuses: list[int]) -> Scripted:
        server = Scripted(statuses)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def _subscribe(sim: Simulator, url: str, *events: str) -> None:
    with sim.account.lock:
        sim.account.webhooks.extend({"target_url": url, "event": e} for e in events)


def test_batches_hold_one_event_type_and_at_most_100(webhook_sim: Simulator, scripted: Any) -> None:
    server = scripted([500, 502])
    _subscribe(webhook_sim, server.url, "campaign_sent", "email_opened", "prospect_replied")
    generate_activity(webhook_sim, new_prospects=250)
    assert webhook_sim.webhooks.wait_idle(30)
    assert [s for s, _ in server.bodies[:2]] == [500, 502]
    accepted = [body for status, body in server.bodies if status == 200]
    assert max(len(b) for b in accepted) == MAX_BATCH  # a backlog is sent in full batches
    assert all(isinstance(b, list) and len({e["method"] for e in b}) == 1 for b in accepted)
    # the two refused batches came again: every payload was accepted exactly once, in order per event
    delivered = [e for b in accepted for e in b]
    generated = [d.payload for d in webhook_sim.webhooks.deliveries]
    assert sorted(map(orjson.dumps, delivered)) == sorted(map(orjson.dumps, generated))
    assert all(d.state == "acknowledged" for d in webhook_sim.webhooks.deliveries)
    refused = sum(len(b) for status, b in server.bodies if status != 200)
    assert refused > 0
    assert sum(d.attempts for d in webhook_sim.webhooks.deliveries) == len(generated) + refused


@pytest.mark.parametrize("status", [310, 410])
def test_gone_unsubscribes_the_pair(webhook_sim: Simulator, scripted: Any, status: int) -> None:
    gone, kept = scripted([status]), scripted([])
    _subscribe(webhook_sim, gone.url, "campaign_sent")
    _subscribe(webhook_sim, kept.url, "campaign_sent")
    generate_activity(webhook_sim, new_prospects=30, days=2)
    assert webhook_sim.webhooks.wait_idle(30)
    assert {h["target_url"] for h in webhook_sim.account.webhooks} == {kept.url}
    assert len(gone.bodies) == 1
    states = {d.state for d in webhook_sim.webhooks.deliveries if d.target_url == gone.url}
    assert states == {"dropped"}
    assert {d.state for d in webhook_sim.webhooks.deliveries if d.target_url == kept.url} == {"acknowledged"}


def test_payload_shape_and_first_open_only(webhook_sim: Simulator, scripted: Any) -> None:
    server = scripted([])
    account = webhook_sim.account
    _subscribe(webhook_sim, server.url, "email_opened", "prospect_replied", "link_clicked")
    start = len(account.events)
    generate_activity(webhook_sim, new_prospects=150)
    assert webhook_sim.webhooks.wait_idle(30)
    payloads = [e for _, b in server.bodies for e in b]
    opens = [p for p in payloads if p["method"] == "email_opened"]
    keys = [(p["prospect"]["id"], p["prospect"]["campaign_id"], p["prospect"]["step"]) for p in opens]
    assert len(keys) == len(set(keys)), "email_opened fires once per email"
    later_opens = [
        e for e in account.events if e.type == m.OPENED and e.version is None and e.step is not None
    ]
    assert later_opens, "the scenario has repeated opens that must not be delivered"
    # every reply and every click since the subscription is delivered (not only the first)
    replies = [p for p in payloads if p["method"] == "prospect_replied"]
    assert len(replies) == sum(1 for e in account.events[start:] if e.type == m.REPLIED)
    assert len([p for p in payloads if p["method"] == "link_clicked"]) == sum(
        1 for e in account.events[start:] if e.type == m.CLICKED
    )
    sample = replies[0]
    assert set(sample) == {"method", "prospect", "email", "timestamp", "firm_id"}
    assert sample["firm_id"] == webhook_sim.config.firm_id
    assert {"campaign_id", "campaign_name", "step", "step_type", "emails_sent"} <= set(sample["prospect"])
    clicks = [p for p in payloads if p["method"] == "link_clicked"]
    assert clicks and all(p["click_url"].startswith("https://") for p in clicks)


def test_repeated_failures_unsubscribe_when_configured(
    make_simulator: Callable[..., Simulator], scripted: Any
) -> None:
    sim = make_simulator(**FAST_RETRIES, webhook_max_failures=3)
    failing = scripted([500] * 50)
    _subscribe(sim, failing.url, "campaign_sent")
    generate_activity(sim, new_prospects=30, days=2)
    assert sim.webhooks.wait_idle(30)
    assert sim.account.webhooks == []
    assert [status for status, _ in failing.bodies] == [500, 500, 500]
    assert {d.state for d in sim.webhooks.deliveries} == {"dropped"}
