"""Fixtures of the webhook tests: a receiver in a subprocess, and a simulator with fast retries."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import Simulator, SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"
# Retries every 50 ms, at most 0.4 s apart: a restarted receiver gets the backlog within a second.
SERVE = (sys.executable, "-m", "pipelines.cli", "webhooks", "serve")
FAST_RETRIES = {"webhook_retry_base_s": 0.05, "webhook_retry_max_s": 0.4, "webhook_timeout_s": 5.0}


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env() -> dict[str, str]:
    """Environment for a subprocess that must import this checkout."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "RUNTIME__DLTHUB_TELEMETRY": "false"}


def serve_until_refused(*args: str) -> subprocess.CompletedProcess[str]:
    """`woodpecker-etl webhooks serve ARGS` expected to refuse to start: its exit code and output."""
    command = [*SERVE, *args]
    return subprocess.run(command, capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60)


@dataclass
class Receiver:
    """A `woodpecker-etl webhooks serve` subprocess."""

    process: subprocess.Popen[str]
    port: int
    spool: Path

    @property
    def url(self) -> str:
        """The hook URL with the right token."""
        return f"http://127.0.0.1:{self.port}/hooks/{TOKEN}"

    @property
    def base(self) -> str:
        """Scheme, host and port."""
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> tuple[int, str]:
        """SIGTERM and wait; the exit code and what it printed."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=20)
        return self.process.returncode, out


def start_receiver(spool: Path, port: int, *extra: str, verbose: int = 0) -> Receiver:
    """Start a receiver (with `-v` `verbose` times) and wait until it answers its health check."""
    cli, webhooks_serve = SERVE[:3], SERVE[3:]
    flags = ["-" + "v" * verbose] if verbose else []
    process = subprocess.Popen(
        [*cli, *flags, *webhooks_serve, "--port", str(port), "--spool", str(spool), "--token", TOKEN, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"receiver exited: {process.communicate()[0]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return Receiver(process, port, spool)
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("receiver did not start")


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    """Factory `receivers(port=None, *extra)`: receivers on the test's spool, killed at teardown."""
    started: list[Receiver] = []

    def make(port: int | None = None, *extra: str) -> Receiver:
        receiver = start_receiver(tmp_path / "spool", port or free_port(), *extra)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        if receiver.process.poll() is None:
            receiver.process.kill()
            receiver.process.wait(timeout=10)


@pytest.fixture
def webhook_sim(make_simulator: Callable[..., Simulator]) -> Simulator:
    """The small account with webhook retries fast enough for tests."""
    return make_simulator(**FAST_RETRIES)


def generate_activity(sim: Simulator, new_prospects: int = 120, days: int = 6) -> None:
    """Enrol new prospects in the running campaign and let the days pass: sends, opens, clicks, replies.

    Also records manual events (a reply, an interest, a click) on enrolled prospects.
    """
    account = sim.account
    running = [c.id for c in account.campaigns.values() if c.status == "RUNNING" and c.steps]
    ids = account.add_prospects(new_prospects)
    for i, pid in enumerate(ids):
        account.enroll(pid, running[i % len(running)])
    for _ in range(days * 4):
        sim.account.simulate(6 * 3600)
    for pid in ids[:5]:
        account.record_click(pid, running[0])
        account.record_reply(pid, running[0])
        account.set_interest(pid, running[0], "INTERESTED")


def sim_config(**extra: Any) -> SimulatorConfig:
    """The small account's config with fast retries."""
    return SimulatorConfig(seed=7, prospects=600, campaigns=6, **{**FAST_RETRIES, **extra})
