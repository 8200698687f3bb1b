"""JSON text in and out: integers of any size stay exact; what orjson rejects stays rejected."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.woodpecker.jsontext import dumps, loads

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: well beyond 64 bits
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_reads_and_writes_back_unchanged(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False).encode()
    assert loads(text) == value
    assert json.loads(dumps(value)) == value
    assert dumps(reversed_keys(value), sort_keys=True) == dumps(value, sort_keys=True)  # a fingerprint


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reversed_keys(v) for k, v in reversed(value.items())}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


@pytest.mark.parametrize(
    "number", [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, -(10**30), 10**400]
)
def test_integers_at_and_beyond_64_bits_are_exact(number: int) -> None:
    assert loads(b'{"a": [%d]}' % number) == {"a": [number]}
    assert dumps({"a": [number]}) == b'{"a":[%d]}' % number


def test_long_digit_runs_elsewhere_keep_their_meaning() -> None:
    text = '{"phone":"12345678901234567890123","u":"\\u1234567890123456789012","f":0.12345678901234567890123}'
    assert loads(text.encode()) == orjson.loads(text)


def test_an_integer_longer_than_python_reads_is_kept_as_its_digits() -> None:
    digits = "7" * 5000
    assert loads(f"[{digits}]".encode()) == [digits]


@pytest.mark.parametrize(
    "text",
    [
        b"[1e400]",
        b"[1" + b"0" * 400 + b".5]",  # a float beyond a double, found by the exact path
        b"[NaN, 12345678901234567890123]",
        b'["\\ud800", 12345678901234567890123]',  # a lone surrogate
        b"[01234567890123456789012]",  # a leading zero
        b'["\xff", 12345678901234567890123]',  # not UTF-8
        b"[12345678901234567890123",
    ],
)
def test_invalid_json_is_rejected_with_or_without_long_numbers(text: bytes) -> None:
    with pytest.raises(ValueError):
        loads(text)
