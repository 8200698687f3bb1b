"""Run statistics of one load: requests per resource, rows per table, retries and throttling answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def shortfall_text(missing: int) -> str:
    """How an incomplete table is described in the summary, the error line and `status`."""
    return f"{missing:,} row{'s' if missing != 1 else ''} fewer than the API counted (X-Total-Count)"


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
        shortfalls: Per table, the rows the API counted (`X-Total-Count`) that its scans could not read,
            although retried: the table is incomplete.
        clock_ahead_s: Most seconds a data timestamp was ahead of the API's clock (`Date` header, or
            the local clock without one); 0 when none was.
        notes: Warnings for the run summary (each said once), e.g. a table much smaller than last time.
        chunks: Pipeline runs the load committed its rows in (0: not a chunked load).
        resumed: Tables whose full scan went on from the position a killed load had committed.
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
    shortfalls: dict[str, int] = field(default_factory=dict)
    clock_ahead_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    resumed: list[str] = field(default_factory=list)
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

    def add_shortfall(self, table: str, missing: int) -> None:
        """Record a scan of `table` that read `missing` rows fewer than the API counted."""
        with self._lock:
            self.shortfalls[table] = self.shortfalls.get(table, 0) + missing

    def note_clock_ahead(self, seconds: float) -> None:
        """Record data timestamps `seconds` ahead of the API's clock (the largest is kept)."""
        with self._lock:
            self.clock_ahead_s = max(self.clock_ahead_s, seconds)

    def add_note(self, note: str) -> None:
        """A warning for the run summary; the same text is kept once."""
        with self._lock:
            if note not in self.notes:
                self.notes.append(note)

    def incomplete(self) -> dict[str, str]:
        """One explanation per incomplete table (empty when every scan read what the API promised)."""
        with self._lock:
            return {table: shortfall_text(missing) for table, missing in sorted(self.shortfalls.items())}

    def _notify(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self)
