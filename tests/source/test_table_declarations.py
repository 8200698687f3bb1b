"""The table declarations (sources/woodpecker_tables.py) are the one place a column is added.

A column added to the declaration of `prospects` alone, for a field the simulator serves over HTTP,
reaches the loaded table with its type, the models' typed input and the generated docs; without it the
field stays in `_unparsed`. The derived contracts agree with the declarations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson

from pipelines import defaults
from simulator import Simulator
from sources.woodpecker import settings
from sources.woodpecker.arrow_batches import ARROW_SPECS
from sources.woodpecker.schema import column_hints
from sources.woodpecker_tables import CAMPAIGN_STEPS, TABLES
from transforms import layout

from .harness import Loader

REPO = Path(__file__).resolve().parents[2]
FIELD = "nickname"


def test_a_column_added_to_the_declaration_reaches_the_table_the_models_and_the_docs(
    make_simulator: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_simulator(prospects=150, campaigns=3, extra_prospect_field=FIELD)
    truth = sim.truth().prospects
    expected = {str(i): v for i, v in zip(truth.id, truth[FIELD], strict=True)}
    assert len(expected) > 100

    # as declared today: the new field is kept in `_unparsed`, it has no column
    loader = Loader(sim, tmp_path / "today")
    loader.run(("prospects",))
    today = loader.table("prospects")
    assert FIELD not in today.columns
    kept = {str(i): orjson.loads(u)[FIELD] for i, u in zip(today.id, today._unparsed, strict=True)}
    assert kept == expected

    # one column added to the declaration, nothing else changed
    env = {**os.environ, "SOURCES__WOODPECKER__API_KEY": sim.api_key, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.source.declared_column", sim.base_url, str(tmp_path), FIELD],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # (a) the loaded table has the column, typed, holding the served values; `_unparsed` no longer does
    assert report["loaded_type"] == "VARCHAR"
    assert report["loaded"] == expected
    assert report["unparsed_with_column"] == 0
    # (b) the models' input contract reads it, and the typed input of `prospects` carries its values
    assert report["contract"] == layout.TEXT
    assert report["missing_columns"] == []
    assert report["typed_input"] == expected
    # (c) the generated docs/tables.md block and dbt sources file name it, so the committed ones are stale
    assert report["docs_block"] and report["sources_yml"]
    assert report["stale"] == ["docs/tables.md", "transforms/models/staging/_woodpecker__sources.yml"]


def test_derived_contracts_follow_the_declarations() -> None:
    names = tuple(t.name for t in TABLES)
    assert names == defaults.SOURCE_TABLES
    assert list(layout.SOURCES) == list(names)
    assert layout.OPTIONAL_SOURCES == ("webhook_events",)
    assert settings.RECONCILED_TABLES == ("campaigns", "prospects", "campaign_prospects")
    for table in TABLES:
        hints = column_hints(table)
        assert set(table.primary_key) <= set(hints)
        for name, sql_type in layout.SOURCES[table.name].items():
            column = table.column(name)
            # what the models read is loaded (or is `deleted_at`, read as NULL where no deletes are tracked)
            assert name in hints or (name == settings.DELETED_AT and not table.reconciled)
            assert sql_type == column.sql_type.upper()
        if table.arrow:
            spec = ARROW_SPECS[table.name]
            assert spec.key == table.primary_key
            assert set(spec.schema.names) == set(hints) - {settings.DELETED_AT}
    # one type vocabulary: a load type and, only where it differs, the type the models read
    assert column_hints(CAMPAIGN_STEPS)["wait_hours"]["data_type"] == "bigint"
    assert layout.SOURCES["campaign_steps"]["wait_hours"] == layout.DOUBLE
