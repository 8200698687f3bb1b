"""Pages of API records as typed Arrow tables: the fast path of the large resources.

A page of up to 1,000 records becomes one `pyarrow.Table` whose columns already have their final types,
so dlt writes it straight to parquet without inspecting rows one by one. Each column is converted with
one vectorised call; only when that fails (a value of the wrong type, an unreadable timestamp) does the
column fall back to value-by-value conversion, which keeps every value it cannot type:

- the value's column is left empty and the original value goes into the row's `_unparsed` JSON object
  under its API field name, so nothing is lost;
- fields the table does not know (an API addition) go into `_unparsed` the same way;
- a record without a usable primary key cannot be merged: it goes whole to the `_rejected_records`
  table instead.

Within one page the last record of a key wins; across pages dlt's merge keeps the newest `_fetched_at`.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from sources.woodpecker_tables import Column, Table

from . import settings
from .jsontext import dumps
from .normalise import as_int, normalise_interest, parse_timestamp

# How a column's values are converted: its declared type, or `interest` for interest marks.
Kind = Literal["bigint", "double", "text", "timestamp", "bool", "json", "interest"]

TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "double": pa.float64(),
    "text": pa.string(),
    "timestamp": TIMESTAMP,
    "bool": pa.bool_(),
    "json": pa.string(),
    "interest": pa.string(),
}
API_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # also reads `+01:00` and `Z` offsets


def column_kind(column: Column) -> Kind:
    """How the values of `column` are converted."""
    return "interest" if column.normalise == "interest" else column.data_type


@dataclass(frozen=True)
class TableSpec:
    """How the records of one API list become rows of one table (derived from its declaration).

    Attributes:
        table: Table name.
        columns: Typed columns, in table order (the declaration's API columns).
        key: Columns that must be typed for a record to be loaded (the primary key).
        ignored: API fields deliberately not loaded (e.g. legacy duplicates).
        keep_unknown: Whether fields outside `columns` and `ignored` are kept in `_unparsed`. False for
            lists whose records carry other tables' fields as well.
    """

    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    ignored: frozenset[str] = frozenset()
    keep_unknown: bool = True
    known: frozenset[str] = field(init=False)

    schema: pa.Schema = field(init=False)
    getter: Callable[[Mapping[str, Any]], tuple[Any, ...]] = field(init=False)

    def __post_init__(self) -> None:
        names = {name for column in self.columns for name in column.fields}
        object.__setattr__(self, "known", frozenset(names | self.ignored))
        fields = [pa.field(column.name, ARROW_TYPES[column_kind(column)]) for column in self.columns]
        fields.append(pa.field(settings.UNPARSED, pa.string()))
        fields.append(pa.field(settings.FETCHED_AT, TIMESTAMP, nullable=False))
        object.__setattr__(self, "schema", pa.schema(fields))
        firsts = [column.fields[0] for column in self.columns]
        getter = operator.itemgetter(*firsts)
        if len(firsts) == 1:  # itemgetter of one name returns the value, not a 1-tuple
            object.__setattr__(self, "getter", lambda record: (getter(record),))
        else:
            object.__setattr__(self, "getter", getter)


def arrow_spec(table: Table) -> TableSpec:
    """The Arrow specification of a table the fast path loads.

    Args:
        table: The table's declaration (`arrow=True`).

    Returns:
        Its columns, key and unknown-field rules as `to_arrow` applies them.

    Raises:
        ValueError: For a table the fast path does not load.
    """
    if not table.arrow:
        raise ValueError(f"{table.name} is not loaded through the Arrow fast path")
    return TableSpec(
        table=table.name,
        columns=tuple(c for c in table.columns if c.loaded),
        key=table.primary_key,
        ignored=table.ignored,
        keep_unknown=table.keep_unknown,
    )


@dataclass
class Converted:
    """One page converted: the table to load, the records set aside and how many values stayed raw."""

    table: pa.Table | None
    rejected: list[dict[str, Any]]
    unparsed_values: int


class _Leftovers:
    """Original values, by row, that did not fit their columns."""

    def __init__(self) -> None:
        self.by_row: dict[int, dict[str, Any]] = {}
        self.count = 0

    def keep(self, row: int, api_field: str, value: Any) -> None:
        self.by_row.setdefault(row, {})[api_field] = value
        self.count += 1


def _values(records: Sequence[Mapping[str, Any]], column: Column) -> list[Any]:
    fields = column.fields
    if len(fields) == 1:
        name = fields[0]
        return [r.get(name) for r in records]
    return [next((r[f] for f in fields if f in r), None) for r in records]


def _source_field(record: Mapping[str, Any], column: Column) -> str:
    return next((f for f in column.fields if f in record), column.fields[0])


def _blank_to_null(array: pa.Array) -> pa.Array:
    if array.null_count == len(array):
        return array
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)


def _text(value: Any) -> tuple[bool, Any]:
    if value is None or isinstance(value, str):
        return True, value or None
    return False, None


def _int(value: Any) -> tuple[bool, Any]:
    if value is None or value == "":
        return True, None
    number = as_int(value)
    if number is None or not -(2**63) <= number < 2**63:
        return False, None
    return True, number


def _bool(value: Any) -> tuple[bool, Any]:
    if value is None or value == "":
        return True, None
    if isinstance(value, bool):
        return True, value
    return False, None


def _timestamp(value: Any) -> tuple[bool, Any]:
    try:
        return True, parse_timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return False, None


def _json(value: Any) -> tuple[bool, Any]:
    if value is None or value == "":
        return True, None
    return True, _dumps(value)


def _interest(value: Any) -> tuple[bool, Any]:
    ok, text = _text(value)
    return ok, normalise_interest(text) if ok else None


def _double(value: Any) -> tuple[bool, Any]:
    if value is None or value == "":
        return True, None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True, float(value)
    return False, None


SLOW_CONVERTERS = {
    "bigint": _int,
    "double": _double,
    "text": _text,
    "timestamp": _timestamp,
    "bool": _bool,
    "json": _json,
    "interest": _interest,
}


def _slow(
    records: Sequence[Mapping[str, Any]], values: list[Any], column: Column, leftovers: _Leftovers
) -> pa.Array:
    """Value-by-value conversion of one column; what does not convert is kept in `leftovers`."""
    convert = SLOW_CONVERTERS[column_kind(column)]
    typed: list[Any] = []
    for row, value in enumerate(values):
        ok, converted = convert(value)
        if not ok:
            leftovers.keep(row, _source_field(records[row], column), value)
        typed.append(converted)
    return pa.array(typed, type=ARROW_TYPES[column_kind(column)])


def _fast(values: list[Any], kind: Kind) -> pa.Array:
    """Vectorised conversion of one column; raises when a value does not fit the type."""
    if kind == "text":
        return _blank_to_null(pa.array(values, type=pa.string()))
    if kind in ("bigint", "bool", "double"):
        # Arrow would quietly turn False into 0 and 1 into True: only exact types take the fast path.
        exact = {"bigint": int, "bool": bool, "double": float}[kind]
        if set(map(type, values)) - {exact, type(None)}:
            raise TypeError(f"a value that is not {exact.__name__}")
        return pa.array(values, type=ARROW_TYPES[kind])
    if kind == "interest":
        text = _blank_to_null(pa.array(values, type=pa.string()))
        return pc.utf8_upper(pc.replace_substring(pc.utf8_trim_whitespace(text), "-", "_"))
    if kind == "json":
        return pa.array(
            [None if v is None or v == "" else dumps(v).decode() for v in values], type=pa.string()
        )
    text = _blank_to_null(pa.array(values, type=pa.string()))
    parsed = pc.strptime(text, format=API_TIME_FORMAT, unit="us", error_is_null=True)
    if parsed.null_count != text.null_count:
        raise ValueError("a timestamp in another format")
    return parsed


def _column(
    records: Sequence[Mapping[str, Any]], column: Column, values: Sequence[Any] | None, leftovers: _Leftovers
) -> pa.Array:
    listed = list(values) if values is not None else _values(records, column)
    try:
        return _fast(listed, column_kind(column))
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return _slow(records, listed, column, leftovers)


def _text_columns(spec: TableSpec, columns: list[tuple[Any, ...] | None], rows: int) -> dict[str, pa.Array]:
    """All plain text columns converted in one call, when every value in them is text or null.

    One array over all of them costs far fewer calls than one per column; columns holding anything else
    are left to `_column` (which returns {} here for them).
    """
    pairs = zip(spec.columns, columns, strict=True)
    text = [(c, v) for c, v in pairs if column_kind(c) == "text" and v is not None]
    names = [c.name for c, _ in text]
    if not names or rows == 0:
        return {}
    values = [v for _, v in text]
    try:
        joined = _blank_to_null(pa.array(list(itertools.chain.from_iterable(values)), type=pa.string()))
    except (pa.ArrowException, TypeError):
        return {}
    return {name: joined.slice(i * rows, rows) for i, name in enumerate(names)}


def _transposed(records: Sequence[Mapping[str, Any]], spec: TableSpec) -> list[tuple[Any, ...]] | None:
    """All columns' values in one pass (one C call per record), or None when a record lacks a field."""
    try:
        return list(zip(*map(spec.getter, records), strict=True))
    except KeyError:
        return None


def _unknown_fields(records: Sequence[Mapping[str, Any]], spec: TableSpec, leftovers: _Leftovers) -> None:
    seen: set[str] = set().union(*records) if records else set()
    unknown = seen - spec.known
    if not unknown:
        return
    for row, record in enumerate(records):
        for name in unknown.intersection(record):
            leftovers.keep(row, name, record[name])


def to_arrow(records: Sequence[Any], spec: TableSpec, fetched_at: datetime) -> Converted:
    """Convert one page of API records into a typed table; never raises on the records' content.

    Args:
        records: Parsed JSON objects of one answer (anything that is not an object is rejected).
        spec: Columns and key of the table.
        fetched_at: When the answer arrived (the `_fetched_at` column).

    Returns:
        The table (None when no record could be loaded), the rejected records and the number of values
        kept raw in `_unparsed`.
    """
    rejected: list[dict[str, Any]] = []
    objects: Sequence[Mapping[str, Any]] = records
    if set(map(type, records)) - {dict}:  # rare: anything but plain objects in the answer
        rejected = [
            _rejection(spec, "not a JSON object", r, fetched_at)
            for r in records
            if not isinstance(r, Mapping)
        ]
        objects = [r for r in records if isinstance(r, Mapping)]
    if not objects:
        return Converted(None, rejected, 0)
    leftovers = _Leftovers()
    transposed = _transposed(objects, spec)
    columns: list[tuple[Any, ...] | None] = [*transposed] if transposed else [None] * len(spec.columns)
    arrays = _text_columns(spec, columns, len(objects))
    for column, values in zip(spec.columns, columns, strict=True):
        if column.name not in arrays:
            arrays[column.name] = _column(objects, column, values, leftovers)
    if spec.keep_unknown:
        _unknown_fields(objects, spec, leftovers)
    unparsed: list[str | None] = [None] * len(objects)
    for row, kept in leftovers.by_row.items():
        unparsed[row] = _dumps(kept)
    arrays[settings.UNPARSED] = pa.array(unparsed, type=pa.string())
    arrays[settings.FETCHED_AT] = pa.repeat(pa.scalar(fetched_at, type=TIMESTAMP), len(objects))
    table = pa.Table.from_arrays([arrays[name] for name in spec.schema.names], schema=spec.schema)
    keep = _keyed_rows(table, spec)
    if keep is not None:
        for row in pc.indices_nonzero(pc.invert(keep)).to_pylist():
            rejected.append(_rejection(spec, "no usable primary key", objects[row], fetched_at))
        table = table.filter(keep)
    table = _last_per_key(table, spec.key)
    return Converted(table if table.num_rows else None, rejected, leftovers.count)


def _keyed_rows(table: pa.Table, spec: TableSpec) -> pa.Array | None:
    """Mask of the rows whose key columns are all typed, or None when every row qualifies."""
    if not any(table.column(name).null_count for name in spec.key):
        return None
    mask = pc.is_valid(table.column(spec.key[0]))
    for name in spec.key[1:]:
        mask = pc.and_(mask, pc.is_valid(table.column(name)))
    return mask


def _last_per_key(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    """The table with one row per key: the last one the API sent."""
    if table.num_rows < 2:
        return table
    if len(key) == 1 and pc.count_distinct(table.column(key[0])).as_py() == table.num_rows:
        return table
    indexed = table.select(list(key)).append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    last = indexed.group_by(list(key), use_threads=False).aggregate([("_row", "max")])
    if last.num_rows == table.num_rows:
        return table
    rows = last.column("_row_max").combine_chunks()
    return table.take(rows.take(pc.sort_indices(rows)))  # in API order


def _dumps(value: Any) -> str:
    """JSON text of any parsed JSON value, integers beyond 64 bits included."""
    return dumps(value).decode()


def _rejection(spec: TableSpec, reason: str, record: Any, fetched_at: datetime) -> dict[str, Any]:
    text = _dumps(record)
    return {
        "table_name": spec.table,
        "record_hash": hashlib.sha1(text.encode()).hexdigest(),
        "reason": reason,
        "record": text,
        settings.FETCHED_AT: fetched_at,
    }
