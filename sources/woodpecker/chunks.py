"""Chunked loads: long scans committed in slices, so a killed load resumes where its last slice ended.

dlt commits resource state only together with a load package. A chunked load therefore runs the
pipeline repeatedly (`pipelines/load_run.py`), each run (a *chunk*) reading a bounded number of
requests, until no resource has work left. One `LoadChunks` object lives for the whole load and is
handed to every chunk's source: it keeps the run's shared context and each long resource's page
stream *alive* between chunks, so a load that is not interrupted reads exactly the pages an unchunked
one would (no request is added at a chunk boundary). When a chunk's budget is spent, every paused
stream saves its position in its resource state (`save` callbacks), which dlt commits with the rows of
that chunk; a load killed later starts from those positions (see `scans.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dlt

from . import settings
from .progress import RunStats

T = TypeVar("T")


class ResourceState(MutableMapping[str, Any]):
    """A resource's state as the chunk that is running sees it.

    dlt gives every pipeline run its own state dictionary; a page stream that lives across chunks reads
    and writes its resource's state through this view, so what it writes lands in the chunk running.
    """

    def __init__(self, resource: str) -> None:
        self.resource = resource

    def _state(self) -> MutableMapping[str, Any]:
        state: MutableMapping[str, Any] = dlt.current.resource_state(self.resource)
        return state

    def __getitem__(self, key: str) -> Any:
        return self._state()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._state()))

    def __len__(self) -> int:
        return len(self._state())


@dataclass
class _Stream:
    """A resource's page stream, alive across the chunks of one load."""

    items: Iterator[Any]
    save: Callable[[], None] | None = None


@dataclass
class LoadChunks:
    """The chunks of one load: the budget of each, and the streams that go on from one to the next.

    Attributes:
        min_requests: Requests a chunk may make at least (`chunk_requests`); a chunk may make more, up to
            `share` of the requests the load made before it, so a long load has fewer, larger chunks
            while a kill still repeats at most about that share of the work done.
        share: See `min_requests`.
        chunk: Chunks started so far (1 for the first).
        context: The run context shared by every chunk's source (set by the first chunk's source).
        finished: Resources that have read everything in this load.
        paused: Resources that stopped (or did not start) in the chunk running because its budget was
            spent: another chunk is needed.
    """

    min_requests: int = settings.DEFAULT_CHUNK_REQUESTS
    share: float = settings.CHUNK_SHARE
    chunk: int = 0
    context: Any = None
    finished: set[str] = field(default_factory=set)
    paused: list[str] = field(default_factory=list)
    _streams: dict[str, _Stream] = field(default_factory=dict)
    _stats: RunStats | None = None
    _chunk_start: int = 0

    def start(self, stats: RunStats) -> None:
        """Begin the next chunk: a fresh budget, nothing paused yet."""
        self._stats = stats
        self.chunk += 1
        self.paused.clear()
        self._chunk_start = stats.total_requests
        stats.chunks = self.chunk

    @property
    def more(self) -> bool:
        """Whether the chunk that ran left work for another one."""
        return bool(self.paused)

    def spent(self) -> bool:
        """Whether the running chunk has used its request budget."""
        if self._stats is None:
            return False
        budget = max(self.min_requests, int(self.share * self._chunk_start))
        return self._stats.total_requests - self._chunk_start >= budget

    def on_pause(self, resource: str, save: Callable[[], None] | None) -> None:
        """Register how `resource`'s stream writes its position to state when a chunk pauses it (None:
        it has no position to write any more)."""
        stream = self._streams.get(resource)
        if stream is not None:
            stream.save = save

    def items(self, resource: str, make: Callable[[], Iterator[T]]) -> Iterator[T]:
        """The items of `resource` this chunk may read: its live stream, resumed, or a new one.

        A resource that finished earlier in this load yields nothing; one that has not started yet
        while the budget is already spent waits for the next chunk.
        """
        if resource in self.finished:
            return
        stream = self._streams.get(resource)
        if stream is None:
            if self.spent():
                self.paused.append(resource)
                return
            stream = self._streams[resource] = _Stream(make())
        while True:
            if self.spent():
                self.paused.append(resource)
                if stream.save is not None:
                    stream.save()
                return
            try:
                item = next(stream.items)
            except StopIteration:
                del self._streams[resource]
                self.finished.add(resource)
                return
            yield item

    def close(self) -> None:
        """Close the streams a failed chunk left open (their threads and connections)."""
        for stream in self._streams.values():
            close = getattr(stream.items, "close", None)
            if close is not None:
                close()
        self._streams.clear()
