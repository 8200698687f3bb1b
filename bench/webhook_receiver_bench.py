"""Scenario `webhook_receiver`: what `woodpecker-etl webhooks serve` survives on a public port.

A receiver subprocess on 127.0.0.1 is held under three loads at once for `--duration` seconds:

- slow connections (`--slow-headers` + `--slow-bodies`, 250 + 250): each sends one header line, or one
  body chunk, every `--trickle` seconds and opens again as soon as the receiver closes it;
- a flood of invalid requests at `--invalid-rps` (1,000/s), each on its own connection, in rotation:
  wrong token (404), malformed JSON (400), an oversized declared body (413), a client that hangs up in
  the middle of its body, and one that hangs up before reading the answer;
- valid events, one POST at a time every `--probe-interval` seconds, each retried like Woodpecker does
  until it is acknowledged; every attempt's time to a 200 is measured (connect included).

The load generator runs in its own process at a lower scheduling priority (nice 10): on the receiver's
own machine it would otherwise take the CPU from the receiver, which an attack from elsewhere cannot.
Halfway (`--kill-at`), the receiver is SIGKILLed and started again at once on the same port and spool.
Meanwhile its resident memory, threads and open file descriptors are sampled. At the end it gets
SIGTERM and the spool is compared with what was acknowledged: every acknowledged event is in it, nothing
else is, and an event is there twice only when an attempt of it was cut by the kill (the loader merges
on the id, tests/webhooks/test_crash_and_load.py). Every load loop is bounded in count and in time, and
all traffic goes to 127.0.0.1.

    python -m bench.webhook_receiver_bench                     # full size, result under bench/results/
    python -m bench.webhook_receiver_bench --duration 20 --invalid-rps 300 --slow-headers 50 --slow-bodies 50

`tests/webhooks/test_receiver_under_load.py` runs it small in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import resource
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines import defaults
from sources.webhook_spool import SpoolPosition, event_id, read_spool

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"  # the only address this benchmark sends to
TOKEN = "bench-token-0123456789abcdefgh"
# An attempt that has no answer after this many seconds counts as failed and is retried.
PROBE_TIMEOUT_S = 5.0
# Scheduling priority of the load generator's process (see `_attack_process`).
LOAD_GENERATOR_NICE = 10
FLOOD_KINDS = ("wrong_token", "malformed_json", "oversized", "hangup_mid_body", "hangup_before_answer")


@dataclass
class Load:
    """The load one run applies."""

    slow_headers: int = 250
    slow_bodies: int = 250
    invalid_rps: int = 1_000
    duration_s: float = 60.0
    probe_interval_s: float = 0.1
    kill_at_s: float | None = 30.0
    trickle_s: float = 3.0
    header_timeout_s: float = defaults.WEBHOOK_HEADER_TIMEOUT_S
    body_timeout_s: float = defaults.WEBHOOK_BODY_TIMEOUT_S
    max_in_flight: int = 256


@dataclass
class Report:
    """What one run measured."""

    load: Load
    probes_acknowledged: int = 0
    probe_attempts_failed: int = 0
    ack_latency_p50_s: float = 0.0
    ack_latency_p99_s: float = 0.0
    ack_latency_max_s: float = 0.0
    slowest_acks: list[tuple[float, float]] = field(default_factory=list)  # (seconds into the run, latency)
    killed_at_s: float | None = None
    probes_unacknowledged: int = 0
    invalid_sent: int = 0
    invalid_per_s: float = 0.0
    invalid_answers: dict[str, int] = field(default_factory=dict)
    invalid_skipped_at_cap: int = 0
    slow_open_min: int = 0
    slow_open_median: float = 0.0
    slow_closed_by_receiver: int = 0
    slow_408: int = 0
    health_max_s: float = 0.0
    receiver_cpu_s: float = 0.0
    attacker_cpu_s: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute load average of the machine, start and end
    cpus: int = 0
    rss_mb_start: float = 0.0
    rss_mb_max: float = 0.0
    threads_max: int = 0
    fds_max: int = 0
    restart_s: float = 0.0
    stderr_lines: int = 0
    stderr_tracebacks: int = 0
    stderr_sample: list[str] = field(default_factory=list)
    token_in_output: bool = False
    spooled_lines: int = 0
    acknowledged_missing: int = 0
    spooled_unexpected: int = 0
    duplicates_without_cut_attempt: int = 0
    sigterm_exit_code: int | None = None
    problems: list[str] = field(default_factory=list)


# --- the receiver process ---------------------------------------------------------------------------


class ReceiverProcess:
    """A `woodpecker-etl webhooks serve` subprocess whose output goes to files (appended across restarts).

    Args:
        port: Port to listen on (the same after a restart).
        spool: Spool directory.
        logs: Directory of `stdout.log` and `stderr.log`.
        extra: More command-line arguments.
    """

    def __init__(self, port: int, spool: Path, logs: Path, extra: list[str]) -> None:
        self.port, self.spool, self.logs, self.extra = port, spool, logs, extra
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> float:
        """Start it and wait for its health check; the seconds that took."""
        started = time.monotonic()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RUNTIME__DLTHUB_TELEMETRY": "false"}
        env["WOODPECKER_WEBHOOK_TOKEN"] = TOKEN
        command = [sys.executable, "-m", "pipelines.cli", "webhooks", "serve", "--host", HOST]
        command += ["--port", str(self.port), "--spool", str(self.spool), *self.extra]
        with (self.logs / "stdout.log").open("ab") as out, (self.logs / "stderr.log").open("ab") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the receiver exited with {self.process.returncode}: {self.stderr()[-500:]}"
                )
            if health(self.port):
                return time.monotonic() - started
            time.sleep(0.02)
        self.process.kill()
        raise RuntimeError("the receiver did not answer its health check")

    def kill(self) -> None:
        """SIGKILL and reap."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        """SIGTERM; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return (self.logs / "stderr.log").read_text(errors="replace")

    def stdout(self) -> str:
        """Everything written to stdout so far."""
        return (self.logs / "stdout.log").read_text(errors="replace")

    def sample(self) -> tuple[float, int, int, int, float] | None:
        """Resident MB, threads, open file descriptors, pid and CPU seconds so far (None when not running)."""
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            fds = len(os.listdir(f"/proc/{self.process.pid}/fd"))
            stat = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        cpu_s = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        pid = self.process.pid
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"]), fds, pid, cpu_s


def health(port: int) -> bool:
    """True when `/healthz` answers 200."""
    connection = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- HTTP on raw connections ------------------------------------------------------------------------


def _request(path: str, body: bytes, length: int | None = None, close: bool = True) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body) if length is None else length}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def _read_status(reader: asyncio.StreamReader) -> int:
    """The status of the answer, after reading it whole (0 when the connection closed first)."""
    line = await reader.readline()
    if not line:
        return 0
    status = int(line.split()[1])
    length = 0
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b""):
            break
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (SO_LINGER 0): a client that vanishes."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


# --- the attackers (their own process) ---------------------------------------------------------------


async def _invalid_request(port: int, kind: str, answers: Counter[str]) -> None:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        answers["connect_failed"] += 1
        return
    try:
        hook = f"/hooks/{TOKEN}"
        if kind == "wrong_token":
            writer.write(_request("/hooks/wrong-token-0000000000000", b'[{"method": "x"}]'))
        elif kind == "malformed_json":
            writer.write(_request(hook, b'[{"method": "campaign_sent", "prospect": {'))
        elif kind == "oversized":
            writer.write(_request(hook, b"[" + b" " * 1024, length=50 * 1024 * 1024))
        elif kind == "hangup_mid_body":
            writer.write(_request(hook, b'[{"method": "campaign_sent"', length=4096))
            await writer.drain()
            _abort(writer)
            answers["hung_up"] += 1
            return
        else:  # hangup_before_answer: the request is whole, the client is gone before the answer
            writer.write(_request("/hooks/wrong-token-0000000000000", b"[]"))
            await writer.drain()
            _abort(writer)
            answers["hung_up"] += 1
            return
        await writer.drain()
        status = await asyncio.wait_for(_read_status(reader), PROBE_TIMEOUT_S)
        answers[str(status)] += 1
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
        answers["reset"] += 1
    finally:
        if not writer.is_closing():
            writer.close()


async def _slow_connection(port: int, body: bool, load: Load, stop_at: float, stats: dict[str, Any]) -> None:
    """Hold one slow connection open until `stop_at`, opening it again whenever the receiver closes it."""
    for _attempt in range(10_000):  # bounded: a reopen at most every few seconds
        if time.monotonic() >= stop_at:
            return
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        stats["open"] += 1
        try:
            if body:
                writer.write(_request(f"/hooks/{TOKEN}", b"[", length=100_000, close=False))
            else:
                writer.write(f"POST /hooks/{TOKEN} HTTP/1.1\r\nHost: {HOST}\r\n".encode())
            for line in range(10_000):
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(1024), load.trickle_s)
                except TimeoutError:
                    if time.monotonic() >= stop_at:
                        return
                    writer.write(b" " if body else f"X-Slow-{line}: x\r\n".encode())
                    continue
                stats["closed_by_receiver"] += 1
                if data.startswith(b"HTTP/1.1 408"):
                    stats["408"] += 1
                break
        except OSError:
            stats["closed_by_receiver"] += 1
        finally:
            stats["open"] -= 1
            writer.close()


async def _attack(port: int, load: Load, start_at: float) -> dict[str, Any]:
    stop_at = start_at + load.duration_s
    stats: dict[str, Any] = {"open": 0, "closed_by_receiver": 0, "408": 0}
    answers: Counter[str] = Counter()
    open_samples: list[int] = []
    slow = []
    for i in range(load.slow_headers + load.slow_bodies):
        slow.append(asyncio.create_task(_slow_connection(port, i >= load.slow_headers, load, stop_at, stats)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    in_flight: set[asyncio.Task[None]] = set()
    sent = skipped = 0
    flood_start = time.monotonic()
    last_sample = 0.0
    while (now := time.monotonic()) < stop_at:
        due = int((now - flood_start) * load.invalid_rps) - sent - skipped
        for _ in range(max(0, due)):
            if len(in_flight) >= load.max_in_flight:
                skipped += 1
                continue
            task = asyncio.create_task(_invalid_request(port, FLOOD_KINDS[sent % len(FLOOD_KINDS)], answers))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            sent += 1
        if now - last_sample >= 0.25 and now - flood_start > 2:
            open_samples.append(stats["open"])
            last_sample = now
        await asyncio.sleep(0.005)
    elapsed = time.monotonic() - flood_start
    await asyncio.wait(in_flight, timeout=PROBE_TIMEOUT_S + 1) if in_flight else None
    await asyncio.wait(slow, timeout=load.trickle_s + 2)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "sent": sent,
        "skipped": skipped,
        "elapsed": elapsed,
        "answers": dict(answers),
        "open_samples": open_samples,
        "closed_by_receiver": stats["closed_by_receiver"],
        "408": stats["408"],
    }


def _attack_process(port: int, load: Load, start_at_wall: float, results: Any) -> None:
    # On the receiver's own machine the load generator competes with it for the CPU, which a real attack
    # (from elsewhere) does not: it runs below the receiver's priority.
    os.nice(LOAD_GENERATOR_NICE)
    delay = max(0.0, start_at_wall - time.time())
    time.sleep(delay)
    try:  # the attackers need the faster loop as much as the receiver does
        import uvloop

        results.put(uvloop.run(_attack(port, load, time.monotonic())))
    except ImportError:
        results.put(asyncio.run(_attack(port, load, time.monotonic())))


# --- the valid events and the sampler (this process) -------------------------------------------------


@dataclass
class Probes:
    """The valid events sent and what happened to them."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    cut: set[str] = field(default_factory=set)  # ids with an attempt that failed
    latencies: list[float] = field(default_factory=list)
    slowest: list[tuple[float, float]] = field(default_factory=list)  # (seconds into the run, latency)
    failed_attempts: int = 0


async def _probe_once(port: int, event: dict[str, Any]) -> tuple[int, float]:
    started = time.monotonic()
    body = json.dumps([event]).encode()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(_request(f"/hooks/{TOKEN}", body))
        await writer.drain()
        status = await _read_status(reader)
    finally:
        writer.close()
    return status, time.monotonic() - started


async def _health_once(port: int, times: list[float]) -> None:
    """Time one `GET /healthz` (nothing recorded while the receiver is down)."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return
    try:
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        if await asyncio.wait_for(_read_status(reader), PROBE_TIMEOUT_S) == 200:
            times.append(time.monotonic() - started)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
        pass
    finally:
        writer.close()


async def _probe(port: int, n: int, probes: Probes, started_at: float, give_up_at: float) -> None:
    event = {
        "method": "prospect_replied",
        "prospect": {"id": 1_000_000 + n, "campaign_id": 1, "step": 1},
        "timestamp": f"2026-12-01T10:00:00+0100#{n}",
    }
    eid = event_id(event)
    probes.sent[eid] = event
    for _attempt in range(1_000):
        if time.monotonic() >= give_up_at:
            return
        try:
            status, seconds = await asyncio.wait_for(_probe_once(port, event), PROBE_TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            status, seconds = 0, 0.0
        if status == 200:
            probes.acknowledged.add(eid)
            probes.latencies.append(seconds)
            probes.slowest = sorted(
                [*probes.slowest, (round(time.monotonic() - seconds - started_at, 2), round(seconds, 3))],
                key=lambda x: -x[1],
            )[:5]
            return
        probes.failed_attempts += 1
        probes.cut.add(eid)
        await asyncio.sleep(0.05)


async def _drive(receiver: ReceiverProcess, load: Load, start_at: float, report: Report) -> Probes:
    probes = Probes()
    stop_at = start_at + load.duration_s
    samples: list[tuple[float, int, int, int, float]] = []
    health_times: list[float] = []
    restart: asyncio.Task[float] | None = None
    pending: set[asyncio.Task[None]] = set()
    n = 0
    while time.monotonic() < start_at:
        await asyncio.sleep(0.01)
    next_probe = next_sample = time.monotonic()
    while (now := time.monotonic()) < stop_at:
        if load.kill_at_s is not None and restart is None and now - start_at >= load.kill_at_s:
            receiver.kill()  # the probes and the sampling go on while it starts again
            restart = asyncio.create_task(asyncio.to_thread(receiver.start))
        if now >= next_probe and len(pending) < 50:
            task = asyncio.create_task(_probe(receiver.port, n, probes, start_at, stop_at + 30))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            next_probe = now + load.probe_interval_s
        if now >= next_sample:
            sample = receiver.sample()
            if sample is not None:
                samples.append(sample)
                health = asyncio.create_task(_health_once(receiver.port, health_times))
                pending.add(health)
                health.add_done_callback(pending.discard)
            next_sample = now + 0.25
        await asyncio.sleep(0.005)
    if restart is not None:
        report.restart_s = await restart
    if pending:
        await asyncio.wait(pending, timeout=40)
    report.health_max_s = round(max(health_times, default=0.0), 4)
    if samples:
        report.rss_mb_max = round(max(s[0] for s in samples), 1)
        report.threads_max = max(s[1] for s in samples)
        report.fds_max = max(s[2] for s in samples)
        cpu_by_pid: dict[int, float] = {}
        for sample in samples:
            cpu_by_pid[sample[3]] = max(cpu_by_pid.get(sample[3], 0.0), sample[4])
        report.receiver_cpu_s = round(sum(cpu_by_pid.values()), 1)
    return probes


def run(load: Load, workdir: Path, port: int | None = None) -> Report:
    """Apply `load` to a receiver with its spool under `workdir`; what happened."""
    report = Report(load=load, cpus=os.cpu_count() or 0)
    load_start = os.getloadavg()[0]
    spool, logs = workdir / "spool", workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    extra = ["--header-timeout", str(load.header_timeout_s), "--body-timeout", str(load.body_timeout_s)]
    receiver = ReceiverProcess(port or free_port(), spool, logs, extra)
    receiver.start()
    first = receiver.sample()
    report.rss_mb_start = round(first[0], 1) if first else 0.0

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_wall = time.time() + 1.5  # the attacker process needs a moment to start
    attacker = context.Process(target=_attack_process, args=(receiver.port, load, start_wall, results))
    attacker.start()
    try:
        start_at = time.monotonic() + (start_wall - time.time())
        probes = asyncio.run(_drive(receiver, load, start_at, report))
        attack = results.get(timeout=load.duration_s + 60)
    finally:
        attacker.join(timeout=30)
        if attacker.is_alive():
            attacker.kill()
        if receiver.process is not None and receiver.process.poll() is None:
            report.sigterm_exit_code = receiver.terminate()

    report.load_average = (round(load_start, 1), round(os.getloadavg()[0], 1))
    report.attacker_cpu_s = round(attack["cpu_s"], 1)
    latencies = sorted(probes.latencies)
    report.probes_acknowledged = len(probes.acknowledged)
    report.probes_unacknowledged = len(probes.sent) - len(probes.acknowledged)
    report.probe_attempts_failed = probes.failed_attempts
    if latencies:
        report.ack_latency_p50_s = round(statistics.median(latencies), 4)
        report.ack_latency_p99_s = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 4)
        report.ack_latency_max_s = round(latencies[-1], 4)
    report.slowest_acks = probes.slowest
    report.invalid_sent = attack["sent"]
    report.invalid_per_s = round(attack["sent"] / attack["elapsed"], 1)
    report.invalid_answers = attack["answers"]
    report.invalid_skipped_at_cap = attack["skipped"]
    open_samples = attack["open_samples"] or [0]
    report.slow_open_min = min(open_samples)
    report.slow_open_median = statistics.median(open_samples)
    report.slow_closed_by_receiver = attack["closed_by_receiver"]
    report.slow_408 = attack["408"]

    stderr = receiver.stderr()
    lines = stderr.splitlines()
    report.stderr_lines = len(lines)
    report.stderr_tracebacks = stderr.count("Traceback")
    report.stderr_sample = lines[:10]
    report.token_in_output = TOKEN in stderr or TOKEN in receiver.stdout()

    spooled = Counter(line.id for batch, _ in read_spool(spool, SpoolPosition()) for line in batch)
    report.spooled_lines = sum(spooled.values())
    report.acknowledged_missing = len(probes.acknowledged - set(spooled))
    report.spooled_unexpected = len(set(spooled) - set(probes.sent))
    report.duplicates_without_cut_attempt = sum(
        1 for i, c in spooled.items() if c > 1 and i not in probes.cut
    )
    report.problems = problems(report)
    return report


def problems(report: Report) -> list[str]:
    """The receiver's promises that this run broke (empty when it kept them all)."""
    load = report.load
    found = []
    if report.probes_unacknowledged:
        found.append(f"{report.probes_unacknowledged} valid events were never acknowledged")
    if report.ack_latency_max_s > 1.0:
        found.append(f"a valid event waited {report.ack_latency_max_s} s for its acknowledgement")
    if report.acknowledged_missing or report.spooled_unexpected or report.duplicates_without_cut_attempt:
        found.append(
            f"spool: {report.acknowledged_missing} acknowledged events missing, "
            f"{report.spooled_unexpected} unexpected, {report.duplicates_without_cut_attempt} duplicated"
        )
    if report.health_max_s > 1.0:
        found.append(f"/healthz took {report.health_max_s} s")
    if report.stderr_tracebacks or report.token_in_output:
        found.append("a traceback or the token in the receiver's output")
    if report.sigterm_exit_code != 0:
        found.append(f"SIGTERM ended the receiver with {report.sigterm_exit_code}")
    if report.invalid_per_s < 0.9 * load.invalid_rps:
        found.append(f"the flood reached {report.invalid_per_s}/s only (asked {load.invalid_rps}/s)")
    slow = load.slow_headers + load.slow_bodies
    if report.slow_open_median < 0.9 * slow:
        found.append(f"only {report.slow_open_median} of {slow} slow connections were open (median)")
    return found


def markdown(report: Report) -> str:
    """The report as the table docs/webhooks.md shows."""
    load = report.load
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(report.invalid_answers.items()))
    rows = [
        (
            "load",
            f"{load.slow_headers} slow-header + {load.slow_bodies} slow-body connections "
            f"(one line / byte every {load.trickle_s:g} s), {load.invalid_rps} invalid requests/s, "
            f"{load.duration_s:g} s"
            + (f", SIGKILL + restart at {load.kill_at_s:g} s" if load.kill_at_s else ""),
        ),
        (
            "valid events acknowledged",
            f"{report.probes_acknowledged} (never acknowledged: "
            f"{report.probes_unacknowledged}; attempts cut by the kill: {report.probe_attempts_failed})",
        ),
        (
            "time to 200 (connect included)",
            f"median {report.ack_latency_p50_s * 1000:.0f} ms, "
            f"p99 {report.ack_latency_p99_s * 1000:.0f} ms, max {report.ack_latency_max_s * 1000:.0f} ms",
        ),
        ("invalid requests answered", f"{report.invalid_sent} ({report.invalid_per_s}/s): {answers}"),
        (
            "slow connections open",
            f"median {report.slow_open_median:g}, min {report.slow_open_min}; "
            f"closed by the receiver {report.slow_closed_by_receiver} times ({report.slow_408} with 408)",
        ),
        ("`GET /healthz` meanwhile", f"max {report.health_max_s * 1000:.0f} ms"),
        (
            "CPU seconds used",
            f"receiver {report.receiver_cpu_s} s, load generator {report.attacker_cpu_s} s "
            f"(machine: {report.cpus} CPUs, load average {report.load_average[0]} at the start, "
            f"{report.load_average[1]} at the end)",
        ),
        ("receiver memory (RSS)", f"{report.rss_mb_start} MB idle, {report.rss_mb_max} MB max"),
        ("receiver threads / open fds", f"{report.threads_max} / {report.fds_max} max"),
        ("restart after SIGKILL", f"{report.restart_s:.2f} s to a healthy receiver"),
        ("receiver stderr", f"{report.stderr_lines} lines, {report.stderr_tracebacks} tracebacks"),
        (
            "spool",
            f"{report.spooled_lines} lines; acknowledged but missing {report.acknowledged_missing}, "
            f"unexpected {report.spooled_unexpected}, duplicated without a cut attempt "
            f"{report.duplicates_without_cut_attempt}",
        ),
    ]
    return "\n".join(["| measure | result |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def main(argv: list[str] | None = None) -> int:
    """Run the scenario from the command line; exit 1 when a promise was broken."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Load()
    parser.add_argument("--slow-headers", type=int, default=defaults.slow_headers)
    parser.add_argument("--slow-bodies", type=int, default=defaults.slow_bodies)
    parser.add_argument("--invalid-rps", type=int, default=defaults.invalid_rps)
    parser.add_argument("--duration", type=float, default=defaults.duration_s)
    parser.add_argument(
        "--kill-at", type=float, default=defaults.kill_at_s, help="seconds; negative: no kill"
    )
    parser.add_argument("--trickle", type=float, default=defaults.trickle_s)
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    limits = (args.slow_headers, args.slow_bodies, args.invalid_rps, args.duration)
    if min(limits) < 0 or args.slow_headers + args.slow_bodies > 5_000 or args.invalid_rps > 5_000:
        parser.error("at most 5,000 slow connections and 5,000 requests/s, none negative")
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be between 1 and 600 seconds")
    load = Load(
        slow_headers=args.slow_headers,
        slow_bodies=args.slow_bodies,
        invalid_rps=args.invalid_rps,
        duration_s=args.duration,
        kill_at_s=args.kill_at if args.kill_at >= 0 else None,
        trickle_s=args.trickle,
    )
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as workdir:
        report = run(load, Path(workdir))
    print(markdown(report))
    for problem in report.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime())
        path = RESULTS / f"{stamp}-webhook-receiver.json"
        path.write_text(json.dumps(asdict(report), indent=2) + "\n")
        print(f"saved {path.relative_to(ROOT)}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
