"""The `column` account layout: every account's rows in shared tables, told apart by `account_id`.

`with_account_column` adds the column to every row the source yields (dict rows and Arrow tables) and
extends each table's primary key and merge key with it, so a merge of one account never replaces or
deletes another account's rows with the same Woodpecker ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from dlt.common.schema.typing import TColumnSchema
from dlt.extract.hints import HintsMeta
from dlt.extract.items import DataItemWithMeta
from dlt.extract.source import DltSource

ACCOUNT_ID = "account_id"
ACCOUNT_ID_COLUMN: TColumnSchema = {"name": ACCOUNT_ID, "data_type": "text", "nullable": False}


def _keys(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def account_hints(hints: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of table hints with `account_id` added to the columns, primary key and merge key."""
    out = dict(hints)
    primary_key = _keys(hints.get("primary_key"))
    if primary_key:
        out["primary_key"] = [*primary_key, ACCOUNT_ID]
    merge_key = _keys(hints.get("merge_key"))
    if merge_key:
        out["merge_key"] = [*merge_key, ACCOUNT_ID]
    columns = hints.get("columns")
    if isinstance(columns, Mapping):
        out["columns"] = {**columns, ACCOUNT_ID: dict(ACCOUNT_ID_COLUMN)}
    return out


def tag_rows(item: Any, account_id: str) -> Any:
    """`item` (an Arrow table, a dict row or a list of dict rows) with `account_id` set on every row."""
    if isinstance(item, pa.Table):
        if ACCOUNT_ID in item.column_names:
            item = item.drop_columns([ACCOUNT_ID])
        return item.append_column(ACCOUNT_ID, pa.array([account_id] * item.num_rows, pa.string()))
    if isinstance(item, list):
        return [{**row, ACCOUNT_ID: account_id} for row in item]
    if isinstance(item, Mapping):
        return {**item, ACCOUNT_ID: account_id}
    return item


class _AccountTagger:
    """A pipe step: tag the rows and, where the source attached per-item table hints, extend those too."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def __call__(self, item: Any, meta: Any = None) -> Any:
        tagged = tag_rows(item, self.account_id)
        if isinstance(meta, HintsMeta):
            # The source's hint dicts are shared module constants: extend a copy, never the original.
            return DataItemWithMeta(
                HintsMeta(account_hints(meta.hints), meta.create_table_variant),  # type: ignore[arg-type]
                tagged,
            )
        return tagged


def with_account_column(source: DltSource, account_id: str) -> DltSource:
    """Make every table of `source` carry `account_id` and key on it (the source is changed in place).

    Args:
        source: A `woodpecker_source` object, before it is run.
        account_id: The account's name from the configuration.

    Returns:
        The same source.
    """
    for resource in source.resources.values():
        # dlt offers no public getter for a resource's declared keys; its hint template holds them.
        declared: Mapping[str, Any] = resource._hints or {}
        extended = account_hints(declared)
        resource.apply_hints(
            primary_key=extended.get("primary_key") or None,
            merge_key=extended.get("merge_key") or None,
            columns={ACCOUNT_ID: ACCOUNT_ID_COLUMN.copy()},
        )
        resource.add_step(_AccountTagger(account_id))
    return source
