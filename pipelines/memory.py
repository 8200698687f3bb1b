"""A load's memory kept flat: glibc's allocator bounded and trimmed, pandas left out of the load path.

- `limit_malloc_arenas`: glibc gives every thread that allocates under contention its own malloc arena
  (up to 8 per core), and memory freed in one arena is not reused by another. dlt, DuckDB and the
  source's page look-ahead each run threads, so a load used to keep several half-empty arenas. Two are
  enough for a load (`MALLOC_ARENA_MAX`, when set in the environment, wins).
- `release_free_memory`: hands the pages glibc keeps free back to the system (`malloc_trim`), called as
  each step of a load starts, so one step's garbage does not sit under the next step's peak.
- `without_pandas`: DuckDB's Python client imports pandas (about 45 MB) the first time a query is bound
  to parameters, only to check whether a parameter is a DataFrame; dlt binds parameters on its first
  query. Nothing a load does needs pandas, so while a load runs the import fails as if pandas were not
  installed, and DuckDB and pyarrow take their paths without it.

All three do nothing where they do not apply (another C library, pandas already imported).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

MALLOC_ARENAS = 2
# mallopt(3) parameter number of M_ARENA_MAX in glibc's malloc.h.
_M_ARENA_MAX = -8


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (the only one with `mallopt` arenas and `malloc_trim`), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 (present in glibc only)
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Bound glibc's malloc arenas (before threads start); True when applied.

    `MALLOC_ARENA_MAX` set in the environment is left to glibc, which read it as the process started.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, arenas) == 1)


def release_free_memory() -> None:
    """Return the free memory glibc holds to the system (a few milliseconds; nothing elsewhere)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


class _PandasHidden(MetaPathFinder):
    """Makes `import pandas` fail with ModuleNotFoundError, as when it is not installed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """Refuse pandas and its submodules; leave every other import to the next finder."""
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@contextmanager
def without_pandas() -> Iterator[None]:
    """Within the block pandas cannot be imported (unless it already was); afterwards it can again."""
    if "pandas" in sys.modules:
        yield
        return
    finder = _PandasHidden()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
