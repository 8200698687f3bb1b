"""Model files: naming, placeholders, dependency order, and transpiling to every target dialect."""

from __future__ import annotations

import logging
from pathlib import Path

import dlt
import pytest
import sqlglot

from transforms import layout
from transforms.catalog import Model, ModelError, dependency_order, load_models, parse_model, render
from transforms.dialects import fold_identifier, to_dialect
from transforms.inputs import column_expression, source_inputs

MODELS = load_models()
PREFIX = {"staging": "stg_woodpecker__", "intermediate": "int_woodpecker__"}


def _build_statement(model: Model, inputs_sql: dict[str, str]) -> str:
    body = render(model, lambda name: f'"woodpecker"."{name}__build"', inputs_sql)
    return f'CREATE TABLE "woodpecker"."{model.name}__build" AS {body}'


def test_every_mart_exists_and_names_follow_the_layers() -> None:
    names = {m.name: m for m in MODELS}
    assert set(layout.MARTS) <= set(names)
    for model in MODELS:
        if model.layer in PREFIX:
            assert model.name.startswith(PREFIX[model.layer]), model.name
        else:
            assert model.name in layout.MARTS, model.name
        if model.sources:
            assert model.layer == "staging", f"{model.name} reads raw tables; only staging may"
    covered = {s for m in MODELS for s in m.sources}
    assert covered == set(layout.SOURCES), "every raw table of the contract has a staging model"


def test_layer_defaults_per_dialect() -> None:
    staging = next(m for m in MODELS if m.layer == "staging")
    mart = next(m for m in MODELS if m.layer == "marts")
    assert staging.materialization("postgres") == "table"  # a view would pin the raw table
    assert staging.materialization("duckdb") == "view"
    assert mart.materialization("duckdb") == mart.materialization("postgres") == "table"


def test_models_come_after_their_refs() -> None:
    position = {m.name: i for i, m in enumerate(MODELS)}
    for model in MODELS:
        assert model.refs or model.sources, f"{model.name} reads nothing"
        for ref in model.refs:
            assert position[ref] < position[model.name], (ref, model.name)


@pytest.mark.parametrize("dialect", layout.TRANSPILE_DIALECTS)
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_every_model_transpiles(model: Model, dialect: str, caplog: pytest.LogCaptureFixture) -> None:
    inputs = source_inputs('"woodpecker"', {})  # empty typed inputs: the widest use of casts
    statement = _build_statement(model, inputs.sql)
    to_dialect.cache_clear()  # a cached result would skip the warnings this test looks for
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        out = to_dialect(statement, dialect)
        sqlglot.parse_one(out, read=dialect)  # the output is valid SQL of that dialect
    assert "{{" not in out and fold_identifier("__build", dialect) in out  # Snowflake: upper case
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("sqlglot")]
    assert not warnings, f"{model.name} → {dialect}: {warnings}"


@pytest.mark.parametrize("destination", layout.WAREHOUSE_DESTINATIONS)
def test_every_warehouse_destination_speaks_a_transpiled_dialect(destination: str) -> None:
    factory = getattr(dlt.destinations, destination)
    assert factory().capabilities().sqlglot_dialect in layout.TRANSPILE_DIALECTS


@pytest.mark.parametrize("dialect", layout.TRANSPILE_DIALECTS)
def test_typed_inputs_transpile_for_every_column_kind(dialect: str) -> None:
    kinds = {"VARCHAR": "text", "TIMESTAMP": "naive", "TIMESTAMP WITH TIME ZONE": "zoned", "BIGINT": "int"}
    existing = {table: dict.fromkeys(columns, "VARCHAR") for table, columns in layout.SOURCES.items()}
    for actual in kinds:
        existing["prospects"]["last_contacted"] = actual
        inputs = source_inputs('"woodpecker"', existing)
        to_dialect(f"SELECT * FROM {inputs.sql['prospects']} AS p", dialect)


def test_column_expression_by_actual_type() -> None:
    ts = layout.TIMESTAMPTZ
    assert column_expression("x", ts, None) == 'CAST(NULL AS TIMESTAMPTZ) AS "x"'
    assert (
        column_expression("x", ts, "character varying")
        == 'CAST(NULLIF(TRIM("x"), \'\') AS TIMESTAMPTZ) AS "x"'
    )
    assert column_expression("x", ts, "timestamp without time zone").startswith(
        'CAST("x" AS TIMESTAMP) AT TIME'
    )
    assert column_expression("x", ts, "TIMESTAMP WITH TIME ZONE") == 'CAST("x" AS TIMESTAMPTZ) AS "x"'
    assert column_expression("x", layout.TEXT, "BIGINT") == 'CAST("x" AS TEXT) AS "x"'


def _write(folder: Path, layer: str, name: str, sql: str) -> None:
    (folder / layer).mkdir(parents=True, exist_ok=True)
    (folder / layer / f"{name}.sql").write_text(sql)


def test_placeholders_and_materialization_header(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "staging",
        "stg_woodpecker__a",
        "-- materialized: VIEW\nSELECT * FROM {{source('prospects')}}",
    )
    _write(
        tmp_path,
        "marts",
        "m",
        'SELECT * FROM {{ ref("stg_woodpecker__a") }} JOIN {{ref( "stg_woodpecker__a" )}}',
    )
    models = load_models(tmp_path)
    assert [m.name for m in models] == ["stg_woodpecker__a", "m"]
    assert models[0].materialized == "view" and models[1].materialized is None
    assert models[0].materialization("postgres") == models[0].materialization("duckdb") == "view"
    assert models[1].materialization("postgres") == "table"
    assert models[0].sources == ("prospects",) and models[1].refs == ("stg_woodpecker__a",)
    assert (
        render(models[1], lambda n: f"<{n}>", {})
        == "SELECT * FROM <stg_woodpecker__a> JOIN <stg_woodpecker__a>"
    )


@pytest.mark.parametrize(
    ("layer", "name", "sql", "message"),
    [
        ("marts", "m", "SELECT * FROM {{ ref('nope') }}", "unknown model"),
        ("staging", "s", "SELECT * FROM {{ source('nope') }}", "unknown source"),
        ("marts", "m", "-- materialized: ephemeral\nSELECT 1", "unknown materialization"),
    ],
)
def test_bad_models_are_rejected(tmp_path: Path, layer: str, name: str, sql: str, message: str) -> None:
    _write(tmp_path, layer, name, sql)
    with pytest.raises(ModelError, match=message):
        load_models(tmp_path)


def test_cycles_and_duplicates_are_rejected(tmp_path: Path) -> None:
    a = Model("a", "marts", "table", "SELECT * FROM {{ ref('b') }}", ("b",), ())
    b = Model("b", "marts", "table", "SELECT * FROM {{ ref('a') }}", ("a",), ())
    with pytest.raises(ModelError, match="cycle"):
        dependency_order([a, b])
    _write(tmp_path, "staging", "x", "SELECT 1")
    _write(tmp_path, "marts", "x", "SELECT 1")
    with pytest.raises(ModelError, match="duplicate"):
        load_models(tmp_path)


def test_parse_model_strips_the_trailing_semicolon(tmp_path: Path) -> None:
    _write(tmp_path, "marts", "m", "SELECT 1;\n")
    assert parse_model(tmp_path / "marts" / "m.sql", "marts").sql == "SELECT 1"
