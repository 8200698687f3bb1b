"""The receiver's answers: token, size limit, JSON validation, health, durable spool, SIGTERM, lock."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import requests

from pipelines.exit_codes import ExitCode
from pipelines.webhook_receiver import KEEP_ALIVE_S
from sources.webhook_spool import (
    SpoolPosition,
    SpoolWriter,
    event_id,
    read_spool,
    repair_torn_tail,
    segments,
)

from .conftest import TOKEN, free_port, serve_until_refused

EVENT = {"method": "prospect_replied", "prospect": {"id": 7, "campaign_id": 3, "step": 1}, "timestamp": "x"}


def _spooled(spool: Path) -> list[Any]:
    return [line for lines, _ in read_spool(spool, SpoolPosition()) for line in lines]


def test_token_size_and_json_are_checked_before_anything_is_written(receivers: Any) -> None:
    receiver = receivers(None, "--max-body-bytes", "2000")
    wrong = requests.post(f"{receiver.base}/hooks/not-the-token-000000000", json=[EVENT], timeout=5)
    unknown = requests.post(f"{receiver.base}/anything", json=[EVENT], timeout=5)
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content  # nothing tells a wrong token from a wrong path
    assert TOKEN not in wrong.text
    assert requests.get(receiver.url, timeout=5).status_code == 404

    too_big = requests.post(receiver.url, data=b"[" + b" " * 3000 + b"]", timeout=5)
    assert too_big.status_code == 413
    for body in (b"{not json", b"[1, 2]", b'"text"', b"[{}, 3]"):
        answer = requests.post(receiver.url, data=body, timeout=5)
        assert answer.status_code == 400, body
    assert _spooled(receiver.spool) == []

    # one object (older samples) and an array (current docs) are both accepted
    single = requests.post(receiver.url, json=EVENT, timeout=5)
    batch = requests.post(receiver.url, json=[EVENT, {**EVENT, "timestamp": "y"}], timeout=5)
    assert (single.status_code, single.json()) == (200, {"accepted": 1})
    assert (batch.status_code, batch.json()) == (200, {"accepted": 2})
    lines = _spooled(receiver.spool)
    assert [line.event for line in lines] == [EVENT, EVENT, {**EVENT, "timestamp": "y"}]
    assert [line.id for line in lines] == [event_id(line.event) for line in lines]
    assert lines[0].id == lines[1].id  # the same event delivered twice has one id

    health = requests.get(f"{receiver.base}/healthz", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_missing_content_length_is_refused(receivers: Any) -> None:
    receiver = receivers()
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
        sock.sendall(f"POST /hooks/{TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        status_line = sock.makefile("rb").readline()
    assert status_line.split()[1] == b"411"
    assert _spooled(receiver.spool) == []


def test_sigterm_stops_gracefully_and_a_second_receiver_cannot_share_the_spool(receivers: Any) -> None:
    receiver = receivers()
    assert requests.post(receiver.url, json=[EVENT], timeout=5).status_code == 200
    second = serve_until_refused("--port", str(free_port()), "--spool", str(receiver.spool), "--token", TOKEN)
    assert second.returncode == ExitCode.BUSY
    assert "another receiver" in second.stderr
    code, output = receiver.terminate()
    assert code == 0
    assert "Stopped; 1 events accepted." in output
    assert TOKEN not in output


def test_sigterm_does_not_wait_forever_for_an_idle_keep_alive_connection(receivers: Any) -> None:
    receiver = receivers()
    with requests.Session() as session:  # keeps its connection open after the answer
        assert session.post(receiver.url, json=[EVENT], timeout=5).status_code == 200
        started = time.monotonic()
        code, output = receiver.terminate()
        assert code == 0 and "Stopped; 1 events accepted." in output
        assert time.monotonic() - started < KEEP_ALIVE_S


def test_a_short_token_is_refused(tmp_path: Path) -> None:
    result = serve_until_refused("--spool", str(tmp_path), "--token", "abc")
    assert result.returncode == ExitCode.CONFIGURATION
    assert "at least 16 characters" in result.stderr


def test_spool_reader_resumes_at_its_position_and_skips_a_torn_tail(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    writer = SpoolWriter(spool, segment_max_bytes=600)
    events = [{**EVENT, "timestamp": str(i)} for i in range(6)]
    for event in events[:4]:
        writer.append([event], "2025-04-15T09:00:00+00:00")
    writer.close()
    assert len(segments(spool)) > 1  # the size limit started new segments

    first = list(read_spool(spool, SpoolPosition()))
    assert [line.event for lines, _ in first for line in lines] == events[:4]
    position = first[-1][1]

    last_segment = segments(spool)[-1][1]
    with last_segment.open("ab") as handle:
        handle.write(json.dumps({"id": "x", "event": events[4]}).encode()[:25])  # torn: no newline
    assert [line for lines, _ in read_spool(spool, position) for line in lines] == []
    assert repair_torn_tail(last_segment) == 25

    writer = SpoolWriter(spool)  # a restart writes to a fresh segment
    writer.append(events[4:], "2025-04-15T09:01:00+00:00")
    writer.close()
    later = [line.event for lines, _ in read_spool(spool, position) for line in lines]
    assert later == events[4:]
