"""The session settings a DuckDB build applies are the caller's again afterwards, even after a failure."""

from __future__ import annotations

import duckdb
import pytest

from transforms import layout
from transforms.build import BuildError, build_models
from transforms.catalog import Model, load_models

from . import scenario
from .conftest import DATASET
from .raw import write_tables


def _setting(conn: duckdb.DuckDBPyConnection, name: str) -> object:
    row = conn.execute(f"SELECT current_setting('{name}')").fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("callers_value", [True, False])
def test_build_restores_the_callers_settings(duck: duckdb.DuckDBPyConnection, callers_value: bool) -> None:
    assert "preserve_insertion_order" in layout.BUILD_SESSION_SETTINGS["duckdb"]
    write_tables(duck, DATASET, scenario.raw_tables())
    duck.execute(f"SET preserve_insertion_order = {str(callers_value).lower()}")
    build_models(duck, DATASET)
    assert _setting(duck, "preserve_insertion_order") is callers_value
    broken = Model("zz_broken", "marts", "table", "SELECT * FROM no_such_table", (), ())
    with pytest.raises(BuildError):
        build_models(duck, DATASET, models=[*load_models(), broken])
    assert _setting(duck, "preserve_insertion_order") is callers_value
