"""Single requests known in advance (v2 campaign details, campaign statistics), read ahead in order.

The `campaigns` and `campaign_stats` resources know every request they will make before the first one:
one per campaign due. `read_ahead` sends the next ones from a background thread while the caller
works on the answer before (and dlt on the rows it yielded), one after another, so the API still sees
one request at a time and the same requests in the same order as when they are read one by one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from . import settings

K = TypeVar("K")
T = TypeVar("T")


def read_ahead(
    keys: Iterable[K], read: Callable[[K], T], depth: int = settings.PREFETCH_PAGES
) -> Generator[tuple[K, T], None, None]:
    """`(key, read(key))` for every key, in order, with up to `depth` reads started ahead.

    `read` runs in one background thread, so the reads run one after another in the order of `keys`.
    A read that raised raises here when its turn comes. The reads not started yet are cancelled when
    the caller stops early or a read raised; a read already running is waited for.

    Args:
        keys: What to read, in order.
        read: Reads one key (makes its request); called from the background thread.
        depth: Reads started ahead of the one the caller is given (at least 1).

    Yields:
        Each key with what `read` returned for it.
    """
    remaining = iter(keys)
    pending: deque[tuple[K, Future[T]]] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="woodpecker-read-ahead") as executor:

        def fill() -> None:
            while len(pending) < max(1, depth):
                for key in remaining:
                    pending.append((key, executor.submit(read, key)))
                    break
                else:
                    return

        try:
            fill()
            while pending:
                key, future = pending.popleft()
                result = future.result()
                fill()
                yield key, result
        finally:
            for _, future in pending:
                future.cancel()
