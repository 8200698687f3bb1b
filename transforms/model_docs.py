"""The models' contract as the dbt package writes it: the `schema.yml` files next to the SQL.

Every model under `models/` has one entry in a `_woodpecker__<layer>.yml` file: its description, its
grain (`config.meta.grain`), each column's description and the column's tests. The raw tables' columns
and types, `staging/_woodpecker__sources.yml`, are generated from the source's table declarations
(sources/woodpecker_tables.py). This module reads those files for the built-in runner (`model_tests`
runs their tests), checks them against the columns the models really produce, and writes the generated
files: the sources file, and the generated parts of docs/metrics.md and docs/tables.md.

Example:
    >>> docs = load_schema()
    >>> docs["campaign_performance"].grain
    ('campaign_id',)
    $ python -m transforms.model_docs --write     # regenerate the docs' generated sections
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from sources.woodpecker_tables import TABLES, Table

from . import layout

SOURCES_FILE: Final = layout.MODELS_DIR / "staging" / "_woodpecker__sources.yml"
DECLARATIONS: Final = "sources/woodpecker_tables.py"
MARTS_FILE: Final = layout.MODELS_DIR / "marts" / "_woodpecker__marts.yml"
METRICS_DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
TABLES_DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "tables.md"
BEGIN = "<!-- generated from {source}: {name} (python -m transforms.model_docs --write) -->"
END = "<!-- end of generated {name} -->"
_BLOCK = re.compile(
    r"<!-- generated from (?P<source>\S+): (?P<name>\S+) \(.*?\) -->\n"
    r".*?<!-- end of generated (?P=name) -->",
    re.S,
)


@dataclass(frozen=True)
class DataTest:
    """One test of a model or column, as written in `schema.yml`.

    Attributes:
        name: The generic test (`unique`, `not_null`, `accepted_values`, `relationships`,
            `woodpecker.expression_is_true`, `woodpecker.accepted_range`, `woodpecker.unique_grain`).
        arguments: Its arguments.
        severity: `error` (fails the run) or `warn`.
    """

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "error"


@dataclass
class ColumnDoc:
    """A documented column: its description and tests."""

    name: str
    description: str
    tests: list[DataTest] = field(default_factory=list)


@dataclass
class ModelDoc:
    """A documented model.

    Attributes:
        name: Model name.
        layer: Folder of its `schema.yml` (`staging`, `intermediate`, `marts`, `semantic`).
        description: What one row is and how it is built.
        grain: The columns that identify a row (`config.meta.grain`).
        columns: Column name → its documentation, in the order written.
        tests: Model-level tests.
    """

    name: str
    layer: str
    description: str
    grain: tuple[str, ...]
    columns: dict[str, ColumnDoc]
    tests: list[DataTest]


class SchemaError(ValueError):
    """A `schema.yml` entry is malformed."""


def _tests(entries: Sequence[Any] | None, where: str) -> list[DataTest]:
    tests: list[DataTest] = []
    for entry in entries or []:
        if isinstance(entry, str):
            tests.append(DataTest(entry))
            continue
        if not isinstance(entry, dict) or len(entry) != 1:
            raise SchemaError(f"{where}: a test is a name or a one-key mapping, got {entry!r}")
        ((name, body),) = entry.items()
        body = body or {}
        severity = str((body.get("config") or {}).get("severity", "error")).lower()
        tests.append(DataTest(name, dict(body.get("arguments") or {}), severity))
    return tests


def schema_files(models_dir: Path = layout.MODELS_DIR) -> list[Path]:
    """The `schema.yml` files of the package (one per layer, plus the sources and metrics)."""
    return sorted(models_dir.glob("*/_woodpecker__*.yml"))


def load_schema(models_dir: Path = layout.MODELS_DIR) -> dict[str, ModelDoc]:
    """Every model's documentation, by model name.

    Raises:
        SchemaError: On a model documented twice or an entry without a description or grain.
    """
    docs: dict[str, ModelDoc] = {}
    for path in schema_files(models_dir):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in content.get("models") or []:
            name = str(entry["name"])
            if name in docs:
                raise SchemaError(f"{path.name}: model {name} is documented twice")
            grain = ((entry.get("config") or {}).get("meta") or {}).get("grain")
            if not entry.get("description") or not grain:
                raise SchemaError(f"{path.name}: model {name} needs a description and config.meta.grain")
            columns: dict[str, ColumnDoc] = {}
            for column in entry.get("columns") or []:
                cname = str(column["name"])
                if cname in columns:
                    raise SchemaError(f"{path.name}: {name}.{cname} is documented twice")
                columns[cname] = ColumnDoc(
                    cname,
                    str(column.get("description") or ""),
                    _tests(column.get("data_tests"), f"{name}.{cname}"),
                )
            docs[name] = ModelDoc(
                name,
                path.parent.name,
                " ".join(str(entry["description"]).split()),
                tuple(str(g) for g in grain),
                columns,
                _tests(entry.get("data_tests"), name),
            )
    return docs


def source_contract(path: Path = SOURCES_FILE) -> dict[str, dict[str, str]]:
    """Raw table → {column → contract type in upper case} as the sources file lists them."""
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    (source,) = [s for s in content["sources"] if s["name"] == layout.SOURCE_NAME]
    return {
        str(table["name"]): {str(c["name"]): str(c["data_type"]).upper() for c in table["columns"]}
        for table in source["tables"]
    }


def undocumented(
    built: Mapping[str, Sequence[str]], docs: Mapping[str, ModelDoc], models: Sequence[str]
) -> list[str]:
    """What the documentation misses or invents, one line each (empty when they agree).

    Args:
        built: Model → the columns it produces, in order (e.g. read from the destination after a build).
        docs: The documentation (`load_schema()`).
        models: The names of every model file the runner builds.

    Returns:
        Lines such as `campaign_performance.new_rate: column not documented in schema.yml`.
    """
    problems: list[str] = []
    for name in models:
        doc = docs.get(name)
        if doc is None:
            problems.append(f"{name}: model not documented in schema.yml")
            continue
        columns = list(built.get(name, ()))
        problems += [
            f"{name}.{c}: column not documented in schema.yml" for c in columns if c not in doc.columns
        ]
        problems += [f"{name}.{c}: documented column does not exist" for c in doc.columns if c not in columns]
        problems += [
            f"{name}.{c}: column has no description" for c, d in doc.columns.items() if not d.description
        ]
        problems += [f"{name}: grain column {g} does not exist" for g in doc.grain if g not in columns]
    problems += [
        f"{name}: documented model does not exist"
        for name, doc in docs.items()
        if name not in models and doc.layer in layout.LAYERS
    ]
    return problems


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def mart_section(doc: ModelDoc) -> str:
    """The generated Markdown of one mart: grain and one table row per column."""
    lines = [
        f"Grain: {', '.join(f'`{g}`' for g in doc.grain)}. {_cell(doc.description)}",
        "",
        "| Column | Definition |",
        "|---|---|",
    ]
    lines += [f"| `{c.name}` | {_cell(c.description)} |" for c in doc.columns.values()]
    return "\n".join(lines)


def sources_section(tables: Sequence[Table] = TABLES) -> str:
    """The generated Markdown of the raw columns the models read, with their types."""
    lines = ["| table | columns the models read (type) |", "|---|---|"]
    for table in tables:
        columns = ", ".join(f"`{name}` {sql_type}" for name, sql_type in table.model_inputs().items())
        lines.append(f"| `{table.name}` | {columns} |")
    return "\n".join(lines)


_SOURCES_HEADER = f"""version: 2

# Generated from {DECLARATIONS} by `python -m transforms.model_docs --write`: edit the
# declarations, not this file (tests/transforms/test_dbt_package.py fails when it is stale).
# The raw tables the Woodpecker source loads (docs/tables.md) and the columns the models read, with the
# type each is read as. This list is the contract of both runners: `typed_source()` (dbt) and
# transforms/inputs.py (`woodpecker-etl transform`, from transforms/layout.py: SOURCES) project exactly
# these columns, a missing column as a typed NULL and a missing table as an empty input.
sources:
  - name: {layout.SOURCE_NAME}
    description: Tables loaded by the Woodpecker source (dlt dataset `woodpecker` unless configured).
    database: "{{{{ var('woodpecker_database', none) or target.database }}}}"
    schema: "{{{{ var('woodpecker_schema', 'woodpecker') }}}}"
    tables:
"""


def _yaml(value: Any, flow: bool = False) -> str:
    return yaml.safe_dump(
        value, default_flow_style=flow, sort_keys=False, width=10**6, allow_unicode=True
    ).strip()


def sources_yml(tables: Sequence[Table] = TABLES) -> str:
    """The dbt sources file (`staging/_woodpecker__sources.yml`) of the declared tables."""
    lines = [_SOURCES_HEADER.rstrip("\n")]
    for table in tables:
        lines.append(f"      - name: {table.name}")
        lines.append(f"        {_yaml({'description': table.description})}")
        lines.append("        columns:")
        for column in table.model_columns():
            entry = {"name": column.name, "data_type": column.sql_type, "description": column.read}
            lines.append(f"          - {_yaml(entry, flow=True)}")
    return "\n".join(lines) + "\n"


def _relative(path: Path) -> str:
    return path.relative_to(METRICS_DOC.parent.parent).as_posix()


def generated_blocks(docs: Mapping[str, ModelDoc] | None = None) -> dict[Path, tuple[str, dict[str, str]]]:
    """Document → (the `schema.yml` it is generated from, {block name → generated Markdown})."""
    docs = load_schema() if docs is None else docs
    marts = {name: mart_section(docs[name]) for name in layout.MARTS}
    return {
        METRICS_DOC: (_relative(MARTS_FILE), marts),
        TABLES_DOC: (DECLARATIONS, {"sources": sources_section()}),
    }


def render_document(text: str, blocks: Mapping[str, str], source: str) -> str:
    """`text` with each generated block replaced by its current content.

    Raises:
        SchemaError: When a block is missing from the document or unknown.
    """
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        seen.add(name)
        body = blocks.get(name)
        if body is None:
            raise SchemaError(f"unknown generated block {name!r}")
        return f"{BEGIN.format(source=source, name=name)}\n{body}\n{END.format(name=name)}"

    rendered = _BLOCK.sub(replace, text)
    missing = sorted(set(blocks) - seen)
    if missing:
        raise SchemaError(f"generated block(s) missing from the document: {missing}")
    return rendered


def stale_documents() -> list[Path]:
    """The generated files that differ from what `schema.yml` and the declarations give (empty when current).

    They are the dbt sources file and the generated blocks of docs/metrics.md and docs/tables.md.
    """
    stale = []
    if SOURCES_FILE.read_text(encoding="utf-8") != sources_yml():
        stale.append(SOURCES_FILE)
    for path, (source, blocks) in generated_blocks().items():
        text = path.read_text(encoding="utf-8")
        if render_document(text, blocks, source) != text:
            stale.append(path)
    return stale


def write_documents() -> list[Path]:
    """Rewrite the sources file and the generated blocks of the docs; return the files changed."""
    changed = []
    if SOURCES_FILE.read_text(encoding="utf-8") != sources_yml():
        SOURCES_FILE.write_text(sources_yml(), encoding="utf-8")
        changed.append(SOURCES_FILE)
    for path, (source, blocks) in generated_blocks().items():
        text = path.read_text(encoding="utf-8")
        rendered = render_document(text, blocks, source)
        if rendered != text:
            path.write_text(rendered, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m transforms.model_docs [--write]`: check (or rewrite) the generated files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="rewrite the generated sections")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_documents():
            print(f"rewrote {path}")
        return 0
    stale = stale_documents()
    for path in stale:
        print(f"{path}: generated content is stale; run python -m transforms.model_docs --write")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
