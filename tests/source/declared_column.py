"""Load `prospects` with one text column added to its declaration, and report where the column shows.

Run as `python -m tests.source.declared_column BASE_URL WORK_DIR COLUMN` (the API key in
`SOURCES__WOODPECKER__API_KEY`). The column is added to `sources.woodpecker_tables.PROSPECTS` before
anything that derives from the declarations is imported, exactly as an edit of that file would, and no
other file is touched. Prints one JSON object:

- `loaded_type`: the column's type in the loaded DuckDB table; `loaded`: id → value;
- `unparsed_with_column`: rows whose `_unparsed` still names the field;
- `contract`: the type `transforms/layout.SOURCES` reads it as; `typed_input`: id → value read through
  the models' typed input of `prospects` (`transforms.inputs.source_inputs`);
- `docs_block`, `sources_yml`: whether the generated docs/tables.md block and dbt sources file name it;
  `stale`: the generated files `model_docs.stale_documents()` reports (the committed ones lack it).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from sources import woodpecker_tables as tables

REPO = Path(__file__).resolve().parents[2]


def extend_declaration(column: str) -> None:
    """Add the text column `column`, read by the models, to the declaration of `prospects`."""
    added = tables.Column(column, "text", read="A field the API added.")
    extended = dataclasses.replace(tables.PROSPECTS, columns=(*tables.PROSPECTS.columns, added))
    tables.PROSPECTS = extended  # type: ignore[misc]
    tables.TABLES = tuple(extended if t.name == extended.name else t for t in tables.TABLES)  # type: ignore[misc]


def main(base_url: str, work_dir: Path, column: str) -> dict[str, Any]:
    """Extend the declaration, load `prospects`, and read the column back through every consumer."""
    extend_declaration(column)
    # Imported only now: everything these modules derive from the declarations includes the new column.
    dlt = importlib.import_module("dlt")
    duckdb = importlib.import_module("duckdb")
    source_module = importlib.import_module("sources.woodpecker")
    layout = importlib.import_module("transforms.layout")
    inputs = importlib.import_module("transforms.inputs")
    model_docs = importlib.import_module("transforms.model_docs")

    path = work_dir / "declared.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name="woodpecker_declared",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="woodpecker",
        pipelines_dir=str(work_dir / "pipelines"),
    )
    source = source_module.woodpecker_source(
        api_key=os.environ["SOURCES__WOODPECKER__API_KEY"], base_url=base_url, backoff_factor=0.0
    )
    pipeline.run(source.with_resources("prospects")).raise_on_failed_jobs()

    with duckdb.connect(str(path), read_only=True) as conn:
        ((loaded_type,),) = conn.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = 'woodpecker' AND table_name = 'prospects' AND column_name = ?",
            [column],
        ).fetchall()
        loaded = conn.execute(f'SELECT id, "{column}" FROM woodpecker.prospects').fetchall()
        unparsed = conn.execute(
            "SELECT count(*) FROM woodpecker.prospects WHERE json_exists(_unparsed, ?)", [f"$.{column}"]
        ).fetchall()[0][0]
        existing: dict[str, dict[str, str]] = {}
        for table, name, data_type in conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'woodpecker'"
        ).fetchall():
            existing.setdefault(table, {})[name] = data_type
        typed = inputs.source_inputs('"woodpecker"', existing)
        read = conn.execute(f'SELECT id, "{column}" FROM {typed.sql["prospects"]} AS p').fetchall()

    return {
        "loaded_type": loaded_type,
        "loaded": {str(i): v for i, v in loaded},
        "unparsed_with_column": unparsed,
        "contract": layout.SOURCES["prospects"].get(column),
        "missing_columns": typed.missing_columns.get("prospects", []),
        "typed_input": {str(i): v for i, v in read},
        "docs_block": f"`{column}` text" in model_docs.sources_section(),
        "sources_yml": f"name: {column}, data_type: text" in model_docs.sources_yml(),
        "stale": sorted(str(p.relative_to(REPO)) for p in model_docs.stale_documents()),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])))
