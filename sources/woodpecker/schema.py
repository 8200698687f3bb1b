"""dlt column hints and resource arguments, derived from the table declarations.

The declarations are in sources/woodpecker_tables.py (docs/tables.md describes the tables); a column is
added by declaring it there, never here.
"""

from __future__ import annotations

from typing import Any

from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

from sources.woodpecker_tables import Table


def column_hints(table: Table) -> TTableSchemaColumns:
    """dlt's column hints of every column the load writes to `table`, bookkeeping included.

    Args:
        table: The table's declaration.

    Returns:
        Column name → hint (`data_type`, `nullable`, and `dedup_sort` where declared).
    """
    columns: TTableSchemaColumns = {}
    for column in table.loaded_columns():
        hint: TColumnSchema = {
            "name": column.name,
            "data_type": column.data_type,
            "nullable": column.nullable,
        }
        if column.dedup_sort is not None:
            hint["dedup_sort"] = column.dedup_sort
        columns[column.name] = hint
    return columns


def merge_hints(table: Table) -> dict[str, Any]:
    """`dlt.resource` arguments of a table that merges on its primary key, written as parquet, not nested.

    Args:
        table: The table's declaration.

    Returns:
        Keyword arguments for `dlt.resource`.
    """
    return {
        "write_disposition": "merge",
        "primary_key": list(table.primary_key),
        "columns": column_hints(table),
        "file_format": "parquet",
        "max_table_nesting": 0,
    }
