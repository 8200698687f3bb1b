"""The webhook spool: an append-only directory of JSON-lines segment files.

The receiver (`pipelines/webhook_receiver.py`) appends every event it accepts as one line
`{"id": …, "received_at": …, "event": {…}}` and makes it durable (write, flush, `os.fsync`) before it
answers. `id` is the SHA-256 of the event's canonical JSON (sorted keys, no spaces), so a redelivered
event has the id of its first copy and the loader can merge on it.

Layout: `<spool>/events-000000000001.jsonl`, `events-000000000002.jsonl`, … Segment numbers only
grow; a receiver starts a new segment when it starts and when the current one reaches
`SEGMENT_MAX_BYTES`, and never appends to a segment another process may have left with a torn line.
Readers take complete lines only (ending in a newline), so they may read a segment while it is written.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEGMENT_PREFIX = "events-"
SEGMENT_SUFFIX = ".jsonl"
SEGMENT_PATTERN = re.compile(r"^events-(\d{12})\.jsonl$")
SEGMENT_MAX_BYTES = 64 * 1024 * 1024
LOCK_FILE = ".receiver.lock"
# Lines handed to the loader at a time.
READ_BATCH_LINES = 5_000


def canonical_json(event: Any) -> bytes:
    """The event as canonical JSON: sorted keys, no whitespace, UTF-8 (the input of `event_id`)."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_id(event: Any) -> str:
    """Content hash of an event: equal for every delivery of the same event object."""
    return hashlib.sha256(canonical_json(event)).hexdigest()


def segment_name(number: int) -> str:
    """File name of segment `number`."""
    return f"{SEGMENT_PREFIX}{number:012d}{SEGMENT_SUFFIX}"


def segments(spool_dir: Path) -> list[tuple[int, Path]]:
    """The segment files of a spool, oldest first."""
    if not spool_dir.is_dir():
        return []
    found = []
    for path in spool_dir.iterdir():
        match = SEGMENT_PATTERN.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def fsync_dir(path: Path) -> None:
    """Make a directory entry (a new or truncated file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SpoolPosition:
    """How far a reader got: the segment number and the byte offset after its last complete line."""

    segment: int = 0
    offset: int = 0


@dataclass(frozen=True)
class SpoolLine:
    """One spooled event: its id, when the receiver accepted it (ISO 8601 UTC) and the event object."""

    id: str
    received_at: str
    event: Any


def read_spool(
    spool_dir: Path, start: SpoolPosition, batch_lines: int = READ_BATCH_LINES
) -> Iterator[tuple[list[SpoolLine], SpoolPosition]]:
    """Read the complete lines after `start`, in batches with the position after each batch.

    A line that is not valid JSON cannot come from the receiver (it writes whole lines and fsyncs them);
    it is skipped rather than stopping every later load.

    Args:
        spool_dir: The spool directory.
        start: Where the previous read ended.
        batch_lines: Lines per batch.

    Yields:
        `(lines, position)`; `position` is where the next read resumes once the batch is stored.
    """
    for number, path in segments(spool_dir):
        if number < start.segment:
            continue
        offset = start.offset if number == start.segment else 0
        batch: list[SpoolLine] = []
        with path.open("rb") as handle:
            handle.seek(offset)
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # a line still being written, or torn by a crash: not acknowledged
                offset += len(raw)
                line = _parse_line(raw)
                if line is not None:
                    batch.append(line)
                if len(batch) >= batch_lines:
                    yield batch, SpoolPosition(number, offset)
                    batch = []
        if batch or offset:
            yield batch, SpoolPosition(number, offset)


def _parse_line(raw: bytes) -> SpoolLine | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        return None
    return SpoolLine(record["id"], str(record.get("received_at") or ""), record.get("event"))


class SpoolLockedError(RuntimeError):
    """Another receiver holds the spool."""


class SpoolWriter:
    """Appends events durably; one writer per spool (an exclusive lock file), thread-safe.

    Args:
        spool_dir: The spool directory (created when missing).
        segment_max_bytes: Size after which the next append starts a new segment.

    Raises:
        SpoolLockedError: When another process writes to the same spool.
    """

    def __init__(self, spool_dir: Path, segment_max_bytes: int = SEGMENT_MAX_BYTES) -> None:
        self.spool_dir = spool_dir
        self.segment_max_bytes = segment_max_bytes
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._lock_handle = (spool_dir / LOCK_FILE).open("a")
        try:
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_handle.close()
            raise SpoolLockedError(f"another receiver is writing to {spool_dir}") from None
        self._mutex = threading.Lock()
        existing = segments(spool_dir)
        if existing:
            repair_torn_tail(existing[-1][1])
        self._number = existing[-1][0] if existing else 0
        self._handle = self._open_next()

    def _open_next(self) -> Any:
        self._number += 1
        handle = (self.spool_dir / segment_name(self._number)).open("ab")
        fsync_dir(self.spool_dir)
        return handle

    @property
    def segment(self) -> Path:
        """The segment being written."""
        return self.spool_dir / segment_name(self._number)

    def append(self, events: list[Any], received_at: str) -> list[str]:
        """Write `events` as lines and make them durable before returning their ids.

        Args:
            events: Event objects as received.
            received_at: When they arrived (ISO 8601 UTC).

        Returns:
            The id of every event, in order.
        """
        ids = [event_id(e) for e in events]
        data = b"".join(
            json.dumps({"id": i, "received_at": received_at, "event": e}, ensure_ascii=False).encode() + b"\n"
            for i, e in zip(ids, events, strict=True)
        )
        with self._mutex:
            if self._handle.tell() and self._handle.tell() + len(data) > self.segment_max_bytes:
                self._handle.close()
                self._handle = self._open_next()
            self._handle.write(data)
            self._handle.flush()
            os.fsync(self._handle.fileno())
        return ids

    def close(self) -> None:
        """Close the segment and release the spool."""
        with self._mutex:
            self._handle.close()
        self._lock_handle.close()


def repair_torn_tail(path: Path) -> int:
    """Cut a segment after its last complete line (what a crash mid-write leaves); bytes removed.

    Those bytes belong to a batch that was never acknowledged, so the sender delivers it again.
    """
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as handle:
        handle.seek(max(0, size - 1))
        if handle.read(1) == b"\n":
            return 0
        keep, position = 0, 0
        handle.seek(0)
        for raw in handle:
            position += len(raw)
            if raw.endswith(b"\n"):
                keep = position
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return size - keep
