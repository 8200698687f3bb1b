"""Running in production: warehouses by configuration, a Parquet lake, and ephemeral runners.

Every load goes through the command line (`pipelines.cli.main`) with the destination chosen by
`--destination` and its credentials in environment variables, as a scheduler would run it.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg2
import pytest
import yaml

from pipelines.cli import build_parser, main
from pipelines.exit_codes import ExitCode
from simulator import Simulator
from tests.source.harness import assert_matches_truth
from tests.transforms.marts_compare import assert_same_marts

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "woodpecker-load.yml"
DATASET = "woodpecker"
PROSPECTS = "/rest/v1/prospects"
MakeSim = Callable[..., Simulator]


def _load(sim: Simulator, tmp_path: Path, destination: str, pipelines: str, *extra: str) -> int:
    return main(
        [
            "load",
            "--destination",
            destination,
            "--base-url",
            sim.base_url,
            "--api-key",
            sim.api_key,
            "--pipelines-dir",
            str(tmp_path / pipelines),
            *extra,
        ]
    )


def _change_account(sim: Simulator) -> None:
    """A day of activity plus an edit and a reply, so the next load has something to bring."""
    truth = sim.truth()
    sim.account.edit_prospect(int(truth.prospects.id.iloc[0]), company="Edited Inc")
    members = truth.campaign_prospects
    active = members[members.status == "ACTIVE"].iloc[0]
    sim.account.record_reply(int(active.prospect_id), int(active.campaign_id))
    sim.account.simulate(86_400)


def test_cli_builds_identical_marts_in_duckdb_and_postgres(
    make_simulator: MakeSim, tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_simulator(seed=5, prospects=250, campaigns=7)
    duck_file = tmp_path / "wp.duckdb"
    assert _load(sim, tmp_path, "duckdb", "p_duck", "--duckdb-path", str(duck_file)) == ExitCode.OK
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_dsn)
    unused = tmp_path / "unused.duckdb"
    assert _load(sim, tmp_path, "postgres", "p_pg", "--duckdb-path", str(unused)) == ExitCode.OK
    assert not unused.exists(), "a Postgres load must not touch the DuckDB file"
    with duckdb.connect(str(duck_file), read_only=True) as duck:
        pg = psycopg2.connect(postgres_dsn)
        try:
            assert_same_marts(duck, pg, DATASET)
        finally:
            pg.close()


def _cursor_reads(requests: list[Any]) -> list[Any]:
    """Prospect reads ordered by an incremental cursor; a full load reads them without `diff`."""
    return [r for r in requests if r.path == PROSPECTS and r.query.get("sort", "").startswith("+")]


def test_ephemeral_runner_resumes_from_state_kept_in_the_destination(
    make_simulator: MakeSim, tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI runner starts without the local pipelines dir: dlt restores the state from Postgres."""
    sim = make_simulator(seed=9, prospects=300, campaigns=5)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_dsn)
    assert _load(sim, tmp_path, "postgres", "runner", "--no-transform") == ExitCode.OK
    first = list(sim.requests)
    assert not [r for r in first if "diff" in r.query], "a first load is a full load"
    shutil.rmtree(tmp_path / "runner")  # the next run starts on a fresh machine
    _change_account(sim)
    assert _load(sim, tmp_path, "postgres", "runner", "--no-transform") == ExitCode.OK
    second = sim.requests[len(first) :]
    # incremental: prospects, memberships, opens and clicks are asked for changes since the cursors
    diffs = sorted(r.query["diff"].split(">")[0] for r in second if "diff" in r.query)
    assert diffs == ["last_clicked", "last_opened", "updated", "updated"]
    # no full scan: the cursor-ordered reads (sort +updated, +last_opened, …) all ask for changes only
    assert _cursor_reads(first) and not [r for r in _cursor_reads(first) if "diff" in r.query]
    assert _cursor_reads(second) and all("diff" in r.query for r in _cursor_reads(second))
    pg = psycopg2.connect(postgres_dsn)
    try:
        with pg.cursor() as cur:
            cur.execute(
                f"SELECT company FROM {DATASET}.prospects WHERE id = %s",
                (int(sim.truth().prospects.id.iloc[0]),),
            )
            assert cur.fetchall() == [("Edited Inc",)]
    finally:
        pg.close()


@dataclass
class LakeReader:
    """Reads the raw tables straight from the lake's Parquet files (for `assert_matches_truth`)."""

    sim: Simulator
    dataset_dir: Path

    def table(self, name: str, live_only: bool = True) -> pd.DataFrame:
        files = sorted((self.dataset_dir / name).glob("*.parquet"))
        assert files, f"no Parquet files for {name}"
        with duckdb.connect() as con:
            paths = ", ".join(f"'{f}'" for f in files)
            cur = con.execute(f"SELECT * FROM read_parquet([{paths}], union_by_name = true)")
            columns = [d[0] for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=columns)
        if live_only and "deleted_at" in frame:
            frame = frame[frame.deleted_at.isna()]
        return frame


def test_lake_holds_the_truth_in_parquet_and_its_marts_equal_duckdb(
    make_simulator: MakeSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_simulator(seed=13, prospects=300, campaigns=6)
    lake = tmp_path / "lake"
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", str(lake))
    lake_marts, duck_file = tmp_path / "lake_marts.duckdb", tmp_path / "wp.duckdb"

    def load_both() -> None:
        assert _load(sim, tmp_path, "filesystem", "p_lake", "--duckdb-path", str(lake_marts)) == ExitCode.OK
        assert _load(sim, tmp_path, "duckdb", "p_duck", "--duckdb-path", str(duck_file)) == ExitCode.OK

    load_both()
    assert_matches_truth(LakeReader(sim, lake / DATASET))  # type: ignore[arg-type]
    # a second, incremental load appends new versions to the lake; the marts keep the latest of each
    _change_account(sim)
    load_both()
    assert len(list((lake / DATASET / "prospects").glob("*.parquet"))) == 2
    with (
        duckdb.connect(str(lake_marts), read_only=True) as from_lake,
        duckdb.connect(str(duck_file), read_only=True) as from_duck,
    ):
        assert_same_marts(from_lake, from_duck, DATASET)
    # `transform` alone rebuilds the marts from the Parquet files into any DuckDB file
    rebuilt = tmp_path / "rebuilt.duckdb"
    args = ["--destination", "filesystem", "--duckdb-path", str(rebuilt), "--pipelines-dir"]
    assert main(["transform", *args, str(tmp_path / "p_lake")]) == ExitCode.OK
    with (
        duckdb.connect(str(rebuilt), read_only=True) as from_lake,
        duckdb.connect(str(duck_file), read_only=True) as from_duck,
    ):
        assert_same_marts(from_lake, from_duck, DATASET)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESTINATION__", "SOURCES__"))}
    return {**env, "PYTHONPATH": str(ROOT), "RUNTIME__DLTHUB_TELEMETRY": "false"}


def test_warehouse_without_credentials_fails_with_a_clear_message(tmp_path: Path) -> None:
    args = ["--destination", "snowflake", "--api-key", "k", "--base-url", "http://127.0.0.1:9"]
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "load", *args, "--pipelines-dir", str(tmp_path / "p")],
        cwd=tmp_path,  # no .dlt folder here
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == ExitCode.CONFIGURATION, result.stderr
    assert "Traceback" not in result.stderr
    assert "snowflake destination is missing credentials" in result.stderr
    assert "DESTINATION__SNOWFLAKE__CREDENTIALS" in result.stderr


def test_warehouse_without_its_driver_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The dev extras install the Snowflake driver (for the Snowflake emulator's tests): hide it here, with
    # dlt's modules that imported it, so the destination meets a machine without it.
    for name in ("dlt.destinations.impl.snowflake.snowflake", "dlt.destinations.impl.snowflake.sql_client"):
        if name in sys.modules:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "snowflake", None)
    monkeypatch.setitem(sys.modules, "snowflake.connector", None)
    with pytest.raises(ImportError):
        importlib.import_module("snowflake.connector")
    monkeypatch.setenv("DESTINATION__SNOWFLAKE__CREDENTIALS", "snowflake://user:pw@account/db")
    args = ["load", "--destination", "snowflake", "--api-key", "k", "--base-url", "http://127.0.0.1:9"]
    code = main([*args, "--pipelines-dir", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert code == ExitCode.CONFIGURATION, err
    assert "pip install 'dlt[snowflake]'" in err


def _workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_workflow_example_never_runs_on_pushes_and_reads_secrets_from_the_environment() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    (job,) = workflow["jobs"].values()
    assert "vars.WOODPECKER_LOAD_ENABLED" in job["if"], "copies run only where the user switched them on"
    env = {**workflow.get("env", {}), **job.get("env", {})}
    assert env["SOURCES__WOODPECKER__API_KEY"] == "${{ secrets.WOODPECKER_API_KEY }}"
    assert any(k.startswith("DESTINATION__") and "secrets." in v for k, v in env.items())
    commands = [
        line.strip()
        for step in job["steps"]
        for line in str(step.get("run", "")).splitlines()
        if line.strip().startswith("woodpecker-etl ")
    ]
    assert commands, "the workflow runs woodpecker-etl"
    for command in commands:
        args = build_parser().parse_args(shlex.split(command)[1:])  # every option exists
        assert args.destination != "duckdb", "state must live in a warehouse, not on the runner"
