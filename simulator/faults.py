"""Faults on demand: scripted (next requests, in order) or random at a seeded rate."""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Iterable

from .config import FAULT_KINDS


class FaultInjector:
    """Decides, request by request, whether the answer is replaced by a fault."""

    def __init__(self, rate: float = 0.0, seed: int = 0, kinds: Iterable[str] = FAULT_KINDS) -> None:
        self.rate = rate
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        self._rng = random.Random(seed)
        self._script: deque[str | None] = deque()
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def script(self, kinds: Iterable[str | None]) -> None:
        """Apply these faults to the next requests in order (`None` lets one request through)."""
        with self._lock:
            for kind in kinds:
                if kind is not None and kind not in FAULT_KINDS:
                    raise ValueError(f"unknown fault kind {kind}")
                self._script.append(kind)

    def clear(self) -> None:
        """Drop scripted faults and stop random ones."""
        with self._lock:
            self._script.clear()
            self.rate = 0.0

    def next_fault(self) -> str | None:
        """The fault for the request being served, if any."""
        with self._lock:
            if self._script:
                kind = self._script.popleft()
            elif self.rate and self._rng.random() < self.rate:
                kind = self.kinds[self._rng.randrange(len(self.kinds))]
            else:
                kind = None
            if kind is not None:
                self.injected[kind] += 1
            return kind

    @property
    def total(self) -> int:
        """Faults injected so far."""
        return sum(self.injected.values())
