"""What the receiver survives on a public port: slow clients, a flood of invalid requests, clients that
hang up, a SIGKILL in the middle — small versions of `bench.webhook_receiver_bench` (docs/webhooks.md)."""

from __future__ import annotations

import asyncio
import hmac
import resource
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.webhook_receiver_bench import Load, run
from pipelines.exit_codes import ExitCode
from pipelines.webhook_receiver import MAX_CONNECTIONS, ReceiverApp
from sources.webhook_spool import SpoolPosition, SpoolWriter, read_spool

from .conftest import ROOT, SERVE, TOKEN, cli_env, free_port, serve_until_refused, start_receiver

EVENT = {"method": "email_opened", "prospect": {"id": 9, "campaign_id": 2, "step": 1}, "timestamp": "t"}


def test_valid_events_are_acknowledged_fast_under_slow_connections_a_flood_and_a_kill(tmp_path: Path) -> None:
    load = Load(
        slow_headers=40,
        slow_bodies=40,
        invalid_rps=200,
        duration_s=6.0,
        probe_interval_s=0.05,
        kill_at_s=3.0,
        trickle_s=0.3,
        header_timeout_s=1.0,
        body_timeout_s=1.0,
    )
    report = run(load, tmp_path)

    assert report.probes_unacknowledged == 0
    assert report.probes_acknowledged >= 40
    assert report.ack_latency_max_s < 1.0, report.slowest_acks
    assert report.probe_attempts_failed > 0, "the kill cut no delivery"
    # every acknowledged event is in the spool; nothing else is; twice only when an attempt was cut
    assert report.acknowledged_missing == report.spooled_unexpected == 0
    assert report.duplicates_without_cut_attempt == 0
    assert report.sigterm_exit_code == 0

    answers = report.invalid_answers
    assert answers.get("404", 0) > 0 and answers.get("400", 0) > 0 and answers.get("413", 0) > 0
    assert answers.get("hung_up", 0) > 0
    assert report.invalid_per_s >= 0.8 * load.invalid_rps
    assert report.slow_open_median >= 0.8 * (load.slow_headers + load.slow_bodies)
    # the deadlines closed the slow clients (several times each over the run); slow bodies got a 408
    assert report.slow_closed_by_receiver >= 2 * (load.slow_headers + load.slow_bodies)
    assert report.slow_408 >= load.slow_bodies

    # one thread for the event loop, one for the spool's fsync; memory flat
    assert report.threads_max <= 2
    assert report.rss_mb_max < 80
    assert report.health_max_s < 1.0
    # hang-ups, deadlines and a flood print nothing at the default log level
    assert report.stderr_lines == 0, report.stderr_sample
    assert not report.token_in_output


def _hang_up(port: int, request: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset


def _closed_after(sock: socket.socket, trickle: bytes | None, limit_s: float) -> tuple[float, bytes]:
    """Seconds until the receiver closes `sock` (sending `trickle` every 0.2 s meanwhile) and what it said."""
    started = time.monotonic()
    sock.settimeout(0.2)
    received = b""
    while time.monotonic() - started < limit_s:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            if trickle:
                try:
                    sock.sendall(trickle)
                except OSError:
                    break
            continue
        except OSError:
            break
        if not data:
            break
        received += data
    return time.monotonic() - started, received


def test_slow_headers_and_slow_bodies_are_cut_at_their_deadlines(tmp_path: Path) -> None:
    receiver = start_receiver(
        tmp_path / "spool", free_port(), "--header-timeout", "1", "--body-timeout", "1.5"
    )
    try:
        address = ("127.0.0.1", receiver.port)
        silent = socket.create_connection(address)
        slow_header = socket.create_connection(address)
        slow_header.sendall(f"POST /hooks/{TOKEN} HTTP/1.1\r\n".encode())
        slow_body = socket.create_connection(address)
        slow_body.sendall(f"POST /hooks/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n[".encode())

        # meanwhile a valid delivery is answered at once
        started = time.monotonic()
        assert requests.post(receiver.url, json=[EVENT], timeout=5).status_code == 200
        assert time.monotonic() - started < 1.0

        silent_s, silent_said = _closed_after(silent, None, 10)
        header_s, _ = _closed_after(slow_header, b"X-Slow: 1\r\n", 10)
        body_s, body_said = _closed_after(slow_body, b" ", 10)
        for sock in (silent, slow_header, slow_body):
            sock.close()
        assert 0.5 <= silent_s < 3 and silent_said == b""
        assert header_s < 3  # it kept sending header lines: the deadline, not silence, closed it
        assert body_s < 3.5 and body_said.startswith(b"HTTP/1.1 408")
        spooled = [line.event for lines, _ in read_spool(receiver.spool, SpoolPosition()) for line in lines]
        assert spooled == [EVENT]

        # headers that never end are cut at 16 KiB, not buffered
        with socket.create_connection(address, timeout=5) as huge:
            huge.sendall(f"POST /hooks/{TOKEN} HTTP/1.1\r\n".encode() + b"X-Pad: " + b"a" * 20_000 + b"\r\n")
            assert huge.recv(100).startswith(b"HTTP/1.1 431")
    finally:
        receiver.process.kill()
        receiver.process.wait(timeout=10)


def test_clients_that_hang_up_leave_no_traceback_and_the_token_is_never_logged(tmp_path: Path) -> None:
    receiver = start_receiver(tmp_path / "spool", free_port(), verbose=2)  # debug: the most it says
    hook = f"/hooks/{TOKEN}"
    mid_body = f"POST {hook} HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n[{{".encode()
    before_answer = f"POST {hook} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]".encode()
    wrong = b"POST /hooks/wrong-token-0000000000000 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]"
    hang_ups = 0
    for request in (mid_body, before_answer, wrong) * 10:
        _hang_up(receiver.port, request)
        hang_ups += 1
    for _ in range(20):  # malformed HTTP: uvicorn warns once, then holds the repeats back
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
    assert requests.post(receiver.url, json=[EVENT], timeout=5).status_code == 200
    assert requests.post(f"{receiver.base}/hooks/{TOKEN}x", json=[EVENT], timeout=5).status_code == 404
    code, output = receiver.terminate()
    assert code == 0
    assert "Traceback" not in output and "Error" not in output
    assert TOKEN not in output
    assert sum("hung up" in line for line in output.splitlines()) <= hang_ups
    assert len(output.splitlines()) < 2 * hang_ups  # at most a line or so each, not a traceback each
    assert output.count("Invalid HTTP request received.") == 1


def test_the_token_is_compared_in_constant_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    spool = SpoolWriter(tmp_path / "spool")
    app = ReceiverApp(spool, TOKEN)
    sent: list[dict[str, Any]] = []

    async def ask(path: str) -> int:
        scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-length", b"0")]}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[-2]["status"])

    try:
        assert asyncio.run(ask("/hooks/short")) == 404
        assert asyncio.run(ask(f"/hooks/{TOKEN}")) == 400  # the token matched; the empty body did not
    finally:
        app.close()
        spool.close()
    # digests of equal length are compared, whatever the length of the token given
    assert len(compared) == 2 and all(len(a) == len(b) == 32 for a, b in compared)


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return serve_until_refused("--token", TOKEN, *args)


def test_a_port_in_use_and_an_unwritable_spool_are_one_line_errors(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve("--port", str(port), "--spool", str(tmp_path / "spool"))
    assert result.returncode == ExitCode.CONFIGURATION
    assert result.stderr.strip() == f"error: cannot listen on 127.0.0.1:{port}: the port is already in use"

    a_file = tmp_path / "not-a-directory"
    a_file.write_text("")
    result = _serve("--port", str(free_port()), "--spool", str(a_file / "spool"))
    assert result.returncode == ExitCode.CONFIGURATION
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write to the spool directory {a_file}")
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr + result.stdout


def test_the_open_file_limit_is_raised_for_every_connection_allowed(tmp_path: Path) -> None:
    def low_soft_limit() -> None:  # what many systems give a process: 1,024, here lower still
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    port = free_port()
    process = subprocess.Popen(
        [*SERVE, "--port", str(port), "--spool", str(tmp_path / "spool"), "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        preexec_fn=low_soft_limit,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        limits = Path(f"/proc/{process.pid}/limits").read_text().splitlines()
        soft = next(line for line in limits if line.startswith("Max open files")).split()[3]
        assert int(soft) >= MAX_CONNECTIONS + 64
    finally:
        process.kill()
        process.wait(timeout=10)


def test_bodies_in_memory_are_capped_over_all_requests(tmp_path: Path) -> None:
    spool = SpoolWriter(tmp_path / "spool")
    app = ReceiverApp(spool, TOKEN, max_buffered_bytes=1_000)
    app.buffered = 900  # other requests hold 900 bytes
    sent: list[dict[str, Any]] = []
    body = b'[{"method": "email_opened", "pad": "' + b"x" * 150 + b'"}]'

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/hooks/{TOKEN}",
        "headers": [(b"content-length", str(len(body)).encode())],
    }
    try:
        asyncio.run(app(scope, receive, send))
        assert sent[0]["status"] == 503 and (b"retry-after", b"5") in sent[0]["headers"]
        assert app.buffered == 900  # what this request held is given back
        app.buffered = 0
        sent.clear()
        asyncio.run(app(scope, receive, send))
        assert sent[0]["status"] == 200
    finally:
        app.close()
        spool.close()
    assert len([line for lines, _ in read_spool(tmp_path / "spool", SpoolPosition()) for line in lines]) == 1
