"""SQL quoting: identifiers and string literals written into generated statements.

The one place the project quotes names and values it puts into SQL text; the transforms and the
pipelines both use it (the pipelines import it from here, the transforms never import the pipelines).
"""

from __future__ import annotations

from typing import Any


def quote(identifier: str) -> str:
    """Quote an identifier in the source dialect (double quotes, doubled inside)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal (single quotes, doubled inside)."""
    return "'" + value.replace("'", "''") + "'"


def value_literal(value: Any) -> str:
    """A Python value as a SQL literal: booleans and numbers as such, anything else as a string."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    return literal(str(value))
