"""Run statistics of one load: requests per resource, rows per table, retries and throttling answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RunStats:
    """Counters filled while the source runs; safe to read from another thread (e.g. a progress ticker).

    Attributes:
        on_progress: Called with this object after every page of rows and every retry.
        requests: HTTP requests sent per resource, every attempt counted (a retried page counts twice).
        rows: Rows handed to dlt per table.
        retries: Attempts repeated after a throttling answer, a server error, a timeout, a dropped
            connection or an unreadable body.
        throttled: Answers that said "too many requests" (v1 409/400 `E_TOO_MANY_REQUESTS`, v2 429).
        repairs: Page ranges re-read because the data changed while it was being paged.
        unparsed: Values per table that could not be converted to their column's type; the row is
            loaded with the column empty and the original value kept in its `_unparsed` JSON column.
        rejected: Records per table that were not loaded because they lack a usable primary key.
        started: `time.monotonic()` when the object was created.
    """

    on_progress: Callable[[RunStats], None] | None = None
    requests: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0
    repairs: int = 0
    unparsed: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def total_requests(self) -> int:
        """All HTTP requests of the run."""
        with self._lock:
            return sum(self.requests.values())

    @property
    def total_rows(self) -> int:
        """All rows handed to dlt."""
        with self._lock:
            return sum(self.rows.values())

    @property
    def elapsed(self) -> float:
        """Seconds since the object was created."""
        return time.monotonic() - self.started

    def add_request(self, resource: str) -> None:
        """Count one HTTP request (attempt) made for `resource`."""
        with self._lock:
            self.requests[resource] = self.requests.get(resource, 0) + 1

    def add_rows(self, table: str, count: int) -> None:
        """Count rows handed to dlt for `table` and report progress."""
        if count <= 0:
            return
        with self._lock:
            self.rows[table] = self.rows.get(table, 0) + count
        self._notify()

    def add_retry(self, throttled: bool) -> None:
        """Count one repeated attempt; `throttled` when the answer was a rate-limit answer."""
        with self._lock:
            self.retries += 1
            if throttled:
                self.throttled += 1
        self._notify()

    def add_throttle(self) -> None:
        """Count a rate-limit answer that was not retried (attempts exhausted)."""
        with self._lock:
            self.throttled += 1

    def add_repair(self) -> None:
        """Count one re-read of a disturbed page range."""
        with self._lock:
            self.repairs += 1

    def add_unparsed(self, table: str, count: int = 1) -> None:
        """Count values of `table` that were kept raw in `_unparsed` instead of their typed column."""
        if count > 0:
            with self._lock:
                self.unparsed[table] = self.unparsed.get(table, 0) + count

    def add_rejected(self, table: str, count: int = 1) -> None:
        """Count records of `table` skipped because they have no usable primary key."""
        if count > 0:
            with self._lock:
                self.rejected[table] = self.rejected.get(table, 0) + count

    def _notify(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self)
