"""A load's memory settings: pandas kept out of the load path, glibc's arenas bounded, DuckDB capped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.defaults import LOAD_WORKERS
from pipelines.dlt_pipeline import make_pipeline
from pipelines.load_options import LoadOptions
from pipelines.memory import limit_malloc_arenas, release_free_memory, without_pandas
from simulator import Simulator
from transforms.build import DUCKDB_BUILD_LIMITS, build_models
from transforms.catalog import Model

# Runs `woodpecker-etl load` in a fresh interpreter, then reports what the load imported and how the
# DuckDB file was configured; the summary and progress go to stderr.
_CLIENT = """
import json, sys
from pipelines.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "pandas": "pandas" in sys.modules}))
"""


def test_load_does_not_import_pandas(simulator: Simulator, tmp_path: Path) -> None:
    """A whole-account load and its engagement tables run without pandas, and load the account right."""
    db = tmp_path / "db.duckdb"
    args = [
        "load",
        "--base-url",
        simulator.base_url,
        "--api-key",
        simulator.api_key,
        "--duckdb-path",
        str(db),
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
    ]
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false")
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT, *args], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "pandas": False}
    truth = simulator.truth()
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.sql("SELECT id FROM woodpecker.prospects WHERE deleted_at IS NULL").fetchall()
        memberships = con.sql("SELECT COUNT(*) FROM woodpecker.campaign_prospects").fetchone()
        performance = con.sql("SELECT COUNT(*) FROM woodpecker.campaign_performance").fetchone()
    assert sorted(i for (i,) in loaded) == sorted(int(i) for i in truth.prospects["id"])
    assert memberships is not None and memberships[0] == len(truth.campaign_prospects)
    assert performance is not None and performance[0] == len(truth.campaigns)


def test_without_pandas_hides_it_only_inside() -> None:
    """Inside the block `import pandas` fails as if it were not installed; afterwards it works again."""
    code = """
import sys
from pipelines.memory import without_pandas
with without_pandas():
    try:
        import pandas
        print("imported")
    except ModuleNotFoundError:
        print("hidden")
import pandas
print("after", pandas.__name__)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["hidden", "after", "pandas"], done.stderr


def test_without_pandas_keeps_an_imported_pandas() -> None:
    """Where pandas is already imported (a notebook, Dagster) the block changes nothing."""
    import pandas

    with without_pandas():
        import pandas as again

    assert again is pandas


def test_malloc_arenas_bounded_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc takes the bound; `MALLOC_ARENA_MAX` from the environment is left to glibc."""
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    is_glibc = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None
    assert limit_malloc_arenas() is is_glibc
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
    release_free_memory()  # nothing to assert but that it returns


def test_build_runs_under_its_cap_and_restores_settings(tmp_path: Path) -> None:
    """The models build under `DUCKDB_BUILD_LIMITS`; the connection's own settings come back after."""
    settings = "SELECT current_setting('memory_limit') AS memory_limit, current_setting('threads') AS threads"
    probe = Model("settings_seen", "marts", "table", settings, (), ())
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.execute("SET memory_limit = '256MiB'")  # a load's cap, in a unit that reads back exactly
        con.execute("SET threads = 2")
        before = con.sql(settings).fetchone()
        build_models(con, "woodpecker", models=[probe])
        during = con.sql("SELECT memory_limit, threads FROM woodpecker.settings_seen").fetchone()
        after = con.sql(settings).fetchone()
        expected = con.sql(
            f"SET memory_limit = {DUCKDB_BUILD_LIMITS['memory_limit']}; "
            f"SET threads = {DUCKDB_BUILD_LIMITS['threads']}; {settings}"
        ).fetchone()
    assert after == before
    assert during == expected
    assert during != before


def test_build_out_of_memory_under_the_cap_runs_again_uncapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build DuckDB cannot finish under the cap is run again with DuckDB's defaults and publishes."""
    import transforms.build

    monkeypatch.setitem(transforms.build.DUCKDB_BUILD_LIMITS, "memory_limit", "'1MB'")
    heavy = Model(
        "heavy",
        "marts",
        "table",
        "SELECT i % 100000 AS k, string_agg(i::VARCHAR, ',') AS s FROM range(2000000) t(i) GROUP BY 1",
        (),
        (),
    )
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.execute("SET memory_limit = '256MB'")
        con.execute("SET threads = 1")
        with pytest.raises(duckdb.OutOfMemoryException):
            con.execute("SET memory_limit = '1MB'; " + heavy.sql).fetchall()
        con.execute("SET memory_limit = '256MiB'")  # shown as 256.0 MiB: restored exactly
        before = con.sql("SELECT current_setting('memory_limit')").fetchone()
        report = build_models(con, "woodpecker", models=[heavy])
        rows = con.sql("SELECT COUNT(*) FROM woodpecker.heavy").fetchone()
        after = con.sql("SELECT current_setting('memory_limit')").fetchone()
    assert report.rows_per_mart == {"heavy": 100000}
    assert rows == (100000,)
    assert after == before


@pytest.mark.parametrize(("given", "expected"), [(None, str(LOAD_WORKERS)), ("4", "4")])
def test_load_workers_default_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str | None, expected: str
) -> None:
    """The pipeline's loader runs `LOAD_WORKERS` jobs at once unless the user configured `load.workers`."""
    monkeypatch.delenv("LOAD__WORKERS", raising=False)
    if given is not None:
        monkeypatch.setenv("LOAD__WORKERS", given)
    options = LoadOptions(duckdb_path=str(tmp_path / "db.duckdb"), pipelines_dir=str(tmp_path / "p"))
    make_pipeline(options)
    assert os.environ["LOAD__WORKERS"] == expected
