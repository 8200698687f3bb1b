"""End to end: the simulator delivers to a receiver that is SIGKILLed mid-stream and restarted; every
acknowledged event reaches the database exactly once, and the engagement tables count the events."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from pipelines.cli import main
from pipelines.load_options import LoadOptions
from pipelines.load_run import run_load
from simulator import Simulator
from simulator.clock import parse_api_timestamp
from sources.webhook_spool import SpoolPosition, SpoolWriter, event_id, read_spool

from .conftest import Receiver, generate_activity

EVENTS = "campaign_sent,email_opened,link_clicked,prospect_replied,prospect_bounced,prospect_interested"


def _subscribe(sim: Simulator, url: str) -> None:
    api = ["--base-url", sim.base_url, "--api-key", sim.api_key]
    assert main(["webhooks", "subscribe", "--url", url, "--events", EVENTS, *api]) == 0


def _load(sim: Simulator, tmp_path: Path, resources: list[str] | None, transform: bool) -> None:
    options = LoadOptions(
        api_key=sim.api_key,
        base_url=sim.base_url,
        duckdb_path=str(tmp_path / "wp.duckdb"),
        pipelines_dir=str(tmp_path / "pipelines"),
        resources=resources,
        transform=transform,
        source_options={"webhook_spool": str(tmp_path / "spool"), "backoff_factor": 0},
    )
    run_load(options)


def _rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(tmp_path / "wp.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _truth(sim: Simulator) -> dict[str, dict[str, Any]]:
    """Acknowledged payloads by their content hash (every one distinct in these scenarios)."""
    acknowledged = sim.webhooks.acknowledged()
    by_id = {event_id(d.payload): d.payload for d in acknowledged}
    assert len(by_id) == len(acknowledged), (
        "two generated events are identical: the test cannot tell them apart"
    )
    return by_id


def _assert_table_equals_truth(sim: Simulator, tmp_path: Path) -> None:
    truth = _truth(sim)
    rows = _rows(
        tmp_path,
        "SELECT event_id, event, prospect_id, campaign_id, step, occurred_at, payload "
        "FROM woodpecker.webhook_events",
    )
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "an event was loaded twice"
    assert set(ids) == set(truth), (
        f"missing {len(set(truth) - set(ids))}, unexpected {len(set(ids) - set(truth))}"
    )
    for eid, event, prospect_id, campaign_id, step, occurred_at, payload in rows:
        sent = truth[eid]
        assert orjson.loads(payload) == sent
        assert event == sent["method"]
        assert prospect_id == sent["prospect"]["id"]
        assert campaign_id == (sent["prospect"]["campaign_id"] or None)
        assert step == sent["prospect"]["step"]
        assert occurred_at.astimezone(UTC).timestamp() == parse_api_timestamp(sent["timestamp"])


def test_acknowledged_events_survive_a_kill_and_load_exactly_once(
    webhook_sim: Simulator, receivers: Any, tmp_path: Path
) -> None:
    sim = webhook_sim
    first = receivers()
    _subscribe(sim, first.url)

    killed_with_pending: list[int] = []

    def kill_after_first_acknowledgement() -> None:
        deadline = time.monotonic() + 30
        while not sim.webhooks.acknowledged() and time.monotonic() < deadline:
            time.sleep(0.001)
        first.kill()
        killed_with_pending.append(sim.webhooks.pending())

    killer = threading.Thread(target=kill_after_first_acknowledgement)
    killer.start()
    generate_activity(sim, new_prospects=200)
    killer.join(timeout=60)
    assert first.process.returncode == -9
    generate_activity(sim, new_prospects=60, days=2)  # happens while nobody receives
    assert sim.webhooks.pending() > 0
    time.sleep(0.3)
    assert any(status == 0 for *_, status in sim.webhooks.posts), "the sender never saw the outage"

    assert killed_with_pending[0] > 0, "the receiver died mid-stream"

    # A crash can also fall between the fsync and the answer (events on disk, not acknowledged) or in
    # the middle of a write (a torn line): leave both behind as the dead receiver would have.
    unacknowledged = [d.payload for d in sim.webhooks.deliveries if d.state == "pending"][:30]
    writer = SpoolWriter(tmp_path / "spool")
    writer.append(unacknowledged, datetime.now(UTC).isoformat())
    torn_segment = writer.segment
    writer.close()
    with torn_segment.open("ab") as handle:
        handle.write(b'{"id": "torn", "received_at": "", "event": {"method": "campaign_se')

    receivers(first.port)  # the same URL comes back
    assert sim.webhooks.wait_idle(60)
    assert all(d.state == "acknowledged" for d in sim.webhooks.deliveries)
    spooled = [line.id for lines, _ in read_spool(tmp_path / "spool", SpoolPosition()) for line in lines]
    assert set(spooled) == set(_truth(sim))
    assert len(spooled) > len(set(spooled)), "the events written before the crash were delivered again"
    assert torn_segment.read_bytes().endswith(b"\n"), "the torn line was cut off at restart"

    _load(sim, tmp_path, ["webhook_events"], transform=False)
    _assert_table_equals_truth(sim, tmp_path)

    # The next load reads on from the saved position; more events arrive and land once as well.
    generate_activity(sim, new_prospects=40, days=2)
    assert sim.webhooks.wait_idle(60)
    _load(sim, tmp_path, ["webhook_events"], transform=False)
    _assert_table_equals_truth(sim, tmp_path)
    assert len(_truth(sim)) > 300


def _utc_day(timestamp: str) -> Any:
    ts = parse_api_timestamp(timestamp)
    assert ts is not None
    return datetime.fromtimestamp(ts, tz=UTC).date()


def _event_counts(rows: list[tuple[Any, ...]], columns: list[str]) -> Counter[tuple[Any, Any, str]]:
    """`(campaign_id, key, column) → n` of rows `(campaign_id, key, *counts of columns)`; zeros left out."""
    found: Counter[tuple[Any, Any, str]] = Counter()
    for campaign_id, key, *counts in rows:
        for column, n in zip(columns, counts, strict=True):
            if n:
                found[(campaign_id, key, column)] = n
    return found


def test_engagement_tables_count_the_events(webhook_sim: Simulator, receivers: Any, tmp_path: Path) -> None:
    sim = webhook_sim
    receiver: Receiver = receivers()
    _subscribe(sim, receiver.url)
    generate_activity(sim, new_prospects=150)
    assert sim.webhooks.wait_idle(60)
    _load(sim, tmp_path, None, transform=True)

    truth = list(_truth(sim).values())
    live = set(sim.account.campaigns)
    columns = {
        "campaign_sent": "event_sends",
        "email_opened": "event_opens",
        "link_clicked": "event_clicks",
        "prospect_replied": "event_replies",
        "prospect_bounced": "event_bounces",
    }
    expected: Counter[tuple[int, Any, str]] = Counter(
        (p["prospect"]["campaign_id"], _utc_day(p["timestamp"]), columns[p["method"]])
        for p in truth
        if p["method"] in columns and p["prospect"]["campaign_id"] in live
    )
    assert expected, "the scenario produced no campaign events"
    daily = _rows(
        tmp_path,
        "SELECT campaign_id, activity_date, event_sends, event_opens, event_clicks, event_replies, "
        "event_bounces FROM woodpecker.campaign_daily_activity",
    )
    assert _event_counts(daily, list(columns.values())) == expected

    per_step: Counter[tuple[int, int, str]] = Counter(
        (p["prospect"]["campaign_id"], p["prospect"]["step"], columns[p["method"]])
        for p in truth
        if p["method"] in list(columns)[:4] and p["prospect"]["campaign_id"] in live
    )
    steps = _rows(
        tmp_path,
        "SELECT DISTINCT campaign_id, email_number, step_event_sends, step_event_opens, step_event_clicks, "
        "step_event_replies FROM woodpecker.step_version_performance WHERE step_event_sends IS NOT NULL",
    )
    assert _event_counts(steps, list(columns.values())[:4]) == per_step
    # campaigns without any event keep NULL event columns (webhooks say nothing about them)
    silent = _rows(
        tmp_path,
        "SELECT COUNT(*) FROM woodpecker.step_version_performance WHERE step_event_sends IS NULL",
    )[0][0]
    with_events = {key[0] for key in per_step}
    assert silent > 0 and with_events < live
