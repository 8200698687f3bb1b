"""JSON text in and out: orjson's speed, with integers of any size kept exact.

orjson handles integers from -2**63 to 2**64-1 only. It reads a longer integer literal as a float, which
loses digits (`10**30` comes back as `1e+30`) and fails the whole answer beyond about `1e308`, and it
refuses to write one. No Woodpecker field holds such a number, but an answer that did must neither
change the value nor stop the run. Every integer outside orjson's range has at least 19 digits, so:

- reading: an answer without a run of 19 digits anywhere (almost all of them; the scan costs about 1 ms
  per MB) is parsed by orjson alone. One with such a run (also a long digit string or a very precise
  fraction) is validated by orjson with those runs shortened, then read exactly by the standard
  library. An integer longer than Python reads (4,300 digits) is kept as its digit text.
- writing: a value orjson refuses is written by the standard library, in the same compact form.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import orjson

LONG_RUN = 19
"""Digits of the shortest integer orjson cannot read exactly (-9223372036854775809)."""

_DIGIT_MARKS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN_MARK = b"0" * LONG_RUN
# Keeping four digits of a run keeps the text valid JSON wherever the run starts: in a number, in a
# string, or inside a `\uXXXX` escape whose hex digits are decimal ones.
_LONG_RUNS = re.compile(rb"([0-9]{4})[0-9]{%d,}" % (LONG_RUN - 4))


def loads(content: bytes) -> Any:
    """Parse JSON text like `orjson.loads`, but with integers beyond 64 bits exact.

    Args:
        content: UTF-8 JSON text.

    Returns:
        The parsed value.

    Raises:
        ValueError: The text is not valid JSON (`orjson.JSONDecodeError` is one), or holds a number too
            large for a float (`1e400`).
    """
    if _LONG_RUN_MARK not in content.translate(_DIGIT_MARKS):
        return orjson.loads(content)
    # orjson checks everything but the size of numbers (UTF-8, escapes, no NaN, nesting depth) …
    orjson.loads(_LONG_RUNS.sub(rb"\1", content))
    # … and the standard library reads the numbers exactly.
    try:
        return json.loads(content, parse_int=_integer, parse_float=_finite_float)
    except RecursionError:  # orjson allows a little deeper nesting than the standard library
        raise ValueError("JSON nested too deeply") from None


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON text of a parsed JSON value, like `orjson.dumps`, for integers of any size.

    Args:
        value: A value as `loads` returns it.
        sort_keys: Write object keys sorted (for fingerprints).

    Returns:
        The JSON text.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:  # an integer beyond 64 bits, or nesting deeper than orjson writes
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, default=str)
        return text.encode()


def _integer(text: str) -> int | str:
    limit = sys.get_int_max_str_digits()
    if limit and len(text.lstrip("-")) > limit:
        return text  # Python refuses to convert it; the digits are kept as text
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number is infinity when parsed as double: {text[:40]}")
    return value
