"""Hostile API keys through every command that takes a key: whitespace is stripped, the rest refused unseen.

Keys read from a file or a secret store often end in a newline; a key with a newline, a carriage return,
a space, a non-ASCII letter or a control character inside, or thousands of characters, cannot be a key.
Every such key goes through `load` (as a flag, in the environment, in `.dlt/secrets.toml`),
`load --accounts`, `push`, and `webhooks list|subscribe|unsubscribe` at `-vv` and DEBUG logging: a
trailing newline and an embedded CR/LF as child processes, a non-ASCII and a 5,000-character key
in-process (refused before any request, like the CR/LF). Keys that only carry surrounding whitespace
must work (exit 0, data loaded); the others are refused with exit code 2 and one line naming the cause
and the fix, before any request. No key appears in any output, log line, summary JSON, file, or column
of any database.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.error_messages import translate_error
from pipelines.exit_codes import ExitCode
from simulator import Simulator, SimulatorConfig
from sources.woodpecker.api_key import clean_api_key
from sources.woodpecker.client import WoodpeckerClient
from sources.woodpecker.errors import ConfigurationError
from sources.woodpecker.progress import RunStats

from .common import REPO_ROOT, child_env, environment
from .keyscan import scan_database

# Every hostile key holds this token, so any echo of (a part of) a key is found by one search.
TOKEN = "Q7hostileZ"
KEY = f"wpk-{TOKEN}-3f9a1c7e5b2d"
# Through every command (each a child process): the kinds of key the issue names.
WORKING = {"trailing newline": f"{KEY}\n"}  # only whitespace around the key: stripped, the key works
REFUSED = {"embedded CRLF": f"{KEY}\r\nX-Injected: {TOKEN}"}  # refused, never echoed
# Refused alike, before any request; run in-process through every command (the secrets.toml variant aside,
# as dlt reads `.dlt/` of the directory it started in) to keep the test fast.
REFUSED_IN_PROCESS = {"unicode": f"{KEY}-ключ", "very long": f"{KEY}{'a' * 5_000}"}
# More of both, checked in-process where every key is read (they all meet the same check).
MORE_WORKING = [f"  {KEY} \r\n", f"\t{KEY}", f"\u00a0{KEY}\u2003"]
MORE_REFUSED = [
    f"wpk-{TOKEN} 3f9a",
    f"{KEY}\x07",
    f"{KEY}\x00",
    f"{KEY}\u200b",
    f"{KEY}\u00e9",
    f"{KEY}\n{TOKEN}",
    f"{KEY}\x7f",
    "   ",
]
HOOK_URL = "http://127.0.0.1:9/hooks/hostile-key-t0ken-0123"
EVENT = "prospect_replied"
DEBUG = {"RUNTIME__LOG_LEVEL": "DEBUG", "SOURCES__WOODPECKER__BACKOFF_FACTOR": "0"}


@dataclass
class Run:
    """One child run: which command, which key, what it returned and printed."""

    command: str
    key_name: str
    workdir: Path
    code: int
    out: str
    err: str


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset TOML accepts)."""
    return json.dumps(value)


def _commands(
    sim: Simulator, csv: Path
) -> dict[str, Callable[[str, Path], tuple[list[str], dict[str, str]]]]:
    """Each command that takes a key: (argv, extra environment) for a key and a work dir."""

    def dest(workdir: Path) -> list[str]:
        return ["--duckdb-path", str(workdir / "wp.duckdb"), "--pipelines-dir", str(workdir / "pipelines")]

    def load_flag(key: str, workdir: Path) -> tuple[list[str], dict[str, str]]:
        summary = str(workdir / "summary.json")
        args = ["load", "--base-url", sim.base_url, "--api-key", key, "--summary-json", summary]
        return [*args, *dest(workdir)], {}

    def load_env(key: str, workdir: Path) -> tuple[list[str], dict[str, str]]:
        args = ["load", "--base-url", sim.base_url, "--no-transform", *dest(workdir)]
        return args, {"SOURCES__WOODPECKER__API_KEY": key}

    def load_secrets_toml(key: str, workdir: Path) -> tuple[list[str], dict[str, str]]:
        (workdir / ".dlt").mkdir()
        (workdir / ".dlt" / "secrets.toml").write_text(
            f"[sources.woodpecker]\napi_key = {_toml_string(key)}\n"
        )
        return ["load", "--base-url", sim.base_url, "--no-transform", *dest(workdir)], {}

    def load_accounts(key: str, workdir: Path) -> tuple[list[str], dict[str, str]]:
        summary = str(workdir / "summary.json")
        args = ["load", "--accounts", "acme", "--no-transform", "--summary-json", summary, *dest(workdir)]
        return args, {"ACCOUNTS__ACME__API_KEY": key, "ACCOUNTS__ACME__BASE_URL": sim.base_url}

    def push(key: str, workdir: Path) -> tuple[list[str], dict[str, str]]:
        return ["push", "--file", str(csv), "--base-url", sim.base_url, "--api-key", key, *dest(workdir)], {}

    def webhooks(action: str) -> Callable[[str, Path], tuple[list[str], dict[str, str]]]:
        def run(key: str, workdir: Path) -> tuple[list[str], dict[str, str]]:
            extra = [] if action == "list" else ["--url", HOOK_URL, "--events", EVENT]
            return ["webhooks", action, "--base-url", sim.base_url, "--api-key", key, *extra], {}

        return run

    return {
        "load --api-key": load_flag,
        "load, key in env": load_env,
        "load, key in .dlt/secrets.toml": load_secrets_toml,
        "load --accounts": load_accounts,
        "push": push,
        "webhooks subscribe": webhooks("subscribe"),
        "webhooks list": webhooks("list"),
        "webhooks unsubscribe": webhooks("unsubscribe"),
    }


def _run(
    command: str,
    key_name: str,
    key: str,
    root: Path,
    build: Callable[..., tuple[list[str], dict[str, str]]],
    in_process: bool = False,
) -> Run:
    workdir = root / f"{command}-{key_name}".replace(" ", "_").replace("/", "_")
    workdir.mkdir()
    argv, env = build(key, workdir)
    if in_process:
        out, err = io.StringIO(), io.StringIO()
        with (
            environment({**DEBUG, "RUNTIME__LOG_LEVEL": "DEBUG", **env}),
            contextlib.chdir(workdir),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(["-vv", *argv])
        return Run(command, key_name, workdir, code, out.getvalue(), err.getvalue())
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "-vv", *argv],
        env=child_env({**DEBUG, "PYTHONPATH": str(REPO_ROOT), **env}),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return Run(command, key_name, workdir, proc.returncode, proc.stdout, proc.stderr)


def _runs(sim: Simulator, keys: dict[str, str], root: Path, csv: Path) -> list[Run]:
    """Every command with every key; the webhook commands in order (subscribe, list, unsubscribe)."""
    commands = _commands(sim, csv)
    jobs = [(c, name, key) for c in commands for name, key in keys.items() if not c.startswith("webhooks")]
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda job: _run(*job, root, commands[job[0]]), jobs))
    for command in (c for c in commands if c.startswith("webhooks")):
        runs += [_run(command, name, key, root, commands[command]) for name, key in keys.items()]
    return runs


def _leaks(run: Run) -> list[str]:
    """Where the token shows up: output, any file of the run (its secrets.toml aside), any table."""
    found = [
        f"{where} of {run.command} ({run.key_name})"
        for where, text in (("stdout", run.out), ("stderr", run.err))
        if TOKEN in text
    ]
    for path in run.workdir.rglob("*"):
        if path.is_file() and path.parent.name != ".dlt" and TOKEN.encode() in path.read_bytes():
            found.append(str(path))
    for db in run.workdir.glob("*.duckdb"):
        found += scan_database(db, (TOKEN,))[1]
    return found


def _prospect_tables(workdir: Path) -> int:
    """How many `prospects` tables the DuckDB files of a work dir hold."""
    found = 0
    for db in workdir.glob("*.duckdb"):
        with duckdb.connect(str(db), read_only=True) as con:
            row = con.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'prospects'")
            found += int(row.fetchone()[0])  # type: ignore[index]
    return found


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A tiny account whose key holds the token."""
    with Simulator(SimulatorConfig(seed=19, prospects=40, campaigns=2, api_key=KEY)) as simulator:
        yield simulator


@pytest.mark.slow
def test_hostile_keys_are_refused_unseen_and_stripped_keys_work(sim: Simulator, tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("email,first_name\nana.lopez@northwind.example,Ana\nben.ong@contoso.example,Ben\n")
    prospects_before = len(sim.truth().prospects)

    refused = _runs(sim, REFUSED, tmp_path, csv)
    commands = _commands(sim, csv)
    refused += [
        _run(command, name, key, tmp_path, commands[command], in_process=True)
        for command in commands
        if "secrets.toml" not in command
        for name, key in REFUSED_IN_PROCESS.items()
    ]
    assert len(refused) == len(REFUSED) * 8 + len(REFUSED_IN_PROCESS) * 7
    for run in refused:
        assert run.code == ExitCode.CONFIGURATION, (run.command, run.key_name, run.err[-500:])
        said = [line for line in (run.out + run.err).splitlines() if "API key" in line]
        assert len(said) == 1, (run.command, run.key_name, run.out[-300:], run.err[-500:])
        assert "printable ASCII" in said[0] and "secrets.toml" in said[0], said  # the cause and the fix
        assert "Traceback" not in run.err
        assert _prospect_tables(run.workdir) == 0  # nothing loaded, nothing pushed into a table
    assert sim.requests == []  # refused before any request: no prospect pushed, no subscription made
    assert sim.account.webhooks == []
    assert len(sim.truth().prospects) == prospects_before

    working = _runs(sim, WORKING, tmp_path, csv)
    for run in working:
        assert run.code == ExitCode.OK, (run.command, run.key_name, run.err[-800:])
        assert sum("DEBUG" in line for line in run.err.splitlines()) > 0  # debug logging was on
    loaded = [run for run in working if run.command.startswith("load") and "accounts" not in run.command]
    for run in loaded:
        with duckdb.connect(str(run.workdir / "wp.duckdb"), read_only=True) as con:
            count = con.sql("SELECT COUNT(*) FROM woodpecker.prospects").fetchone()
        assert count is not None and count[0] >= prospects_before
    listed = [run for run in working if run.command == "webhooks list"]
    assert all(EVENT in run.out for run in listed)  # the subscription made with a stripped key is there

    leaks = [leak for run in [*refused, *working] for leak in _leaks(run)]
    assert leaks == []


@pytest.mark.parametrize("raw", MORE_WORKING)
def test_surrounding_whitespace_is_stripped(raw: str) -> None:
    assert clean_api_key(raw) == KEY


@pytest.mark.parametrize("raw", MORE_REFUSED)
def test_impossible_keys_are_refused_without_echo(raw: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        WoodpeckerClient(raw, "http://127.0.0.1:9", RunStats())
    message = str(refused.value)
    assert TOKEN not in message and "API key" in message and "\n" not in message
    error = translate_error(refused.value, raw)
    assert error.code == ExitCode.CONFIGURATION and TOKEN not in str(error)
