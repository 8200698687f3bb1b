"""`read_ahead`: single requests known in advance, read in order, one at a time, ahead of the caller."""

from __future__ import annotations

import threading
import time

import pytest

from sources.woodpecker.read_ahead import read_ahead


class Recorder:
    """A `read` that records its calls and fails whether two ever overlap."""

    def __init__(self, fail_on: int | None = None, seconds: float = 0.0) -> None:
        self.calls: list[int] = []
        self.threads: set[str] = set()
        self.running = 0
        self.overlapped = False
        self.started = {key: threading.Event() for key in range(100)}
        self.fail_on = fail_on
        self.seconds = seconds
        self._lock = threading.Lock()

    def __call__(self, key: int) -> str:
        with self._lock:
            self.running += 1
            self.overlapped = self.overlapped or self.running > 1
            self.calls.append(key)
            self.threads.add(threading.current_thread().name)
        self.started[key].set()
        try:
            time.sleep(self.seconds)
            if key == self.fail_on:
                raise RuntimeError(f"read {key} failed")
            return f"answer {key}"
        finally:
            with self._lock:
                self.running -= 1


def test_every_key_is_read_once_in_order_one_at_a_time_in_the_background() -> None:
    read = Recorder(seconds=0.002)
    got = list(read_ahead(range(20), read, depth=4))
    assert got == [(key, f"answer {key}") for key in range(20)]
    assert read.calls == list(range(20))
    assert not read.overlapped
    assert threading.current_thread().name not in read.threads


def test_the_next_read_starts_while_the_caller_works_on_the_one_before() -> None:
    read = Recorder()
    reads = read_ahead(range(3), read, depth=1)
    assert next(reads) == (0, "answer 0")
    # the caller has not asked for key 1 yet: its read is already under way
    assert read.started[1].wait(timeout=5)
    assert [key for key, _ in reads] == [1, 2]


def test_a_failed_read_raises_in_turn_and_the_reads_not_started_are_cancelled() -> None:
    read = Recorder(fail_on=3, seconds=0.01)
    reads = read_ahead(range(50), read, depth=2)
    assert [next(reads)[0] for _ in range(3)] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="read 3 failed"):
        next(reads)
    time.sleep(0.1)
    # at most the reads started ahead of key 3 ran; none after the failure
    assert read.calls == list(range(len(read.calls)))
    assert len(read.calls) <= 3 + 1 + 2


def test_stopping_early_cancels_the_reads_not_started() -> None:
    read = Recorder(seconds=0.01)
    reads = read_ahead(range(50), read, depth=3)
    assert next(reads)[0] == 0
    reads.close()
    calls = len(read.calls)
    time.sleep(0.1)
    assert len(read.calls) == calls <= 1 + 3
    assert not read.overlapped
