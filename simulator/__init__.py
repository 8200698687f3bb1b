"""A local simulator of the Woodpecker.co REST API, for tests, demos and benchmarks.

Start it in-process::

    from simulator import Simulator, SimulatorConfig

    with Simulator(SimulatorConfig(seed=7, prospects=2_000, campaigns=8)) as sim:
        sim.base_url, sim.api_key   # point a client here
        sim.account.record_reply(prospect_id, campaign_id)
        truth = sim.truth()        # what a perfect connector would have loaded

or as a command: ``python -m simulator --port 8765``. See docs/simulator.md.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .account import Account
from .clock import VirtualClock
from .config import DEFAULT_API_KEY, FAULT_KINDS, NO_ADDON_API_KEY, SimulatorConfig
from .faults import FaultInjector
from .generator import generate
from .server import RequestRecord, WoodpeckerServer
from .truth import GroundTruth, snapshot
from .webhooks import Delivery, WebhookOutbox

__all__ = [
    "DEFAULT_API_KEY",
    "FAULT_KINDS",
    "NO_ADDON_API_KEY",
    "Account",
    "Delivery",
    "FaultInjector",
    "GroundTruth",
    "RequestRecord",
    "Simulator",
    "SimulatorConfig",
    "WebhookOutbox",
]


class Simulator:
    """A generated account served over HTTP on 127.0.0.1 (ephemeral port unless one is given)."""

    def __init__(self, config: SimulatorConfig | None = None, port: int = 0, host: str = "127.0.0.1") -> None:
        self.config = config or SimulatorConfig()
        self.clock = VirtualClock(self.config.start)
        self.account = generate(self.config, self.clock)
        # The generated records live as long as the server: keep them out of garbage collection passes
        # (at 1M prospects a full pass costs seconds); `stop` hands them back.
        gc.freeze()
        self._server = WoodpeckerServer((host, port), self.account, self.config)
        self._thread: threading.Thread | None = None
        self._deliverer: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Simulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="woodpecker-sim", daemon=True)
        self._thread.start()
        self._start_deliverer()
        return self

    def _start_deliverer(self) -> None:
        self._deliverer = threading.Thread(
            target=self.account.outbox.run, name="woodpecker-sim-webhooks", daemon=True
        )
        self._deliverer.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command line uses this); webhooks go out from a thread."""
        self._start_deliverer()
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self.account.outbox.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._deliverer is not None:
            self._deliverer.join(timeout=10)
        gc.unfreeze()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ what tests use
    @property
    def base_url(self) -> str:
        """Scheme, host and port; API paths continue with /rest/v1/… and /rest/v2/…."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_key(self) -> str:
        """The valid API key."""
        return self.config.api_key

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, in arrival order."""
        return self._server.requests

    @property
    def max_concurrency(self) -> int:
        """Most requests of one key ever processed at the same time."""
        return self._server.gate.max_concurrency

    @property
    def faults(self) -> FaultInjector:
        """Fault injection: `sim.faults.script([...])`, counters in `sim.faults.injected`."""
        return self._server.faults

    def on_request(self, callback: Callable[[RequestRecord], Any]) -> None:
        """Call `callback(record)` before each authenticated request is answered (mutate mid-scan here)."""
        self._server.callbacks.append(callback)

    @property
    def webhooks(self) -> WebhookOutbox:
        """Webhook deliveries: every payload queued for a subscribed URL, with its state (ground truth)."""
        return self.account.outbox

    def truth(self) -> GroundTruth:
        """The account as it is now, and engagement aggregates from its event log."""
        return snapshot(self.account)
