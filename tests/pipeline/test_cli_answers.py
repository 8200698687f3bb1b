"""Ordinary mistakes get a fast, one-line answer with the documented exit code; Ctrl-C and SIGTERM too.

The commands run as a user runs them (the `woodpecker-etl` console script in a subprocess) wherever
the time budget, the process exit code or a signal is what is tested; argument and path mistakes that
never leave the process run through `main`, the same entry point, in-process.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import cli
from pipelines.cli import main
from pipelines.exit_codes import ExitCode

SCRIPT = str(Path(sys.executable).with_name("woodpecker-etl"))
KEY = "test-key-7c1d9e2f0a"
# What a failure of the API's host may take, process start included; retries alone took 130 s.
FAST_S = 10.0
HEAVY_MODULES = ("dlt", "duckdb", "pandas", "pyarrow", "sqlglot", "requests", "numpy")
RAW_EXCEPTIONS = ("Traceback", "KeyboardInterrupt", "SignalReceivedException", "PipelineStepFailed")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update(RUNTIME__DLTHUB_TELEMETRY="false", **extra)
    return env


def _run(tmp_path: Path, *args: str, timeout: float = 60, **env: str) -> tuple[int, str, str, float]:
    """Run `woodpecker-etl <args>` in tmp_path; exit code, stdout, stderr and wall seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [SCRIPT, *args],
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def _load_args(tmp_path: Path, base_url: str, *extra: str) -> list[str]:
    return [
        "load",
        "--base-url",
        base_url,
        "--api-key",
        KEY,
        "--duckdb-path",
        str(tmp_path / "wp.duckdb"),
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
        *extra,
    ]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for raw in RAW_EXCEPTIONS:
        assert raw not in err
    return lines[0]


# -- the API's host -------------------------------------------------------------------------------------


@pytest.fixture
def web_page(tmp_path: Path) -> Any:
    """A plain web server (python -m http.server): answers HTML, 404 for the API's paths."""
    from tests.source.scripted_server import Reply, scripted

    page = "<!doctype html><html><body>It works!</body></html>"
    with scripted(Reply(200, page, {"Content-Type": "text/html"})) as server:
        yield server


def test_load_against_a_closed_port_exits_4_within_seconds(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}"
    code, out, err, seconds = _run(tmp_path, *_load_args(tmp_path, base_url))
    assert code == ExitCode.API, err
    assert seconds < FAST_S  # the whole process; the retry budget alone took 130 s
    line = _one_error_line(err)
    assert base_url in line and "connection refused" in line and "--base-url" in line
    assert KEY not in out + err


def _timed_main(argv: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    code = main(argv)
    return code, time.monotonic() - started


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown-host", "does not resolve"),
        ("tls-to-plain-http", "TLS handshake failed"),
        ("web-page", "with a web page"),
    ],
)
def test_load_against_a_host_that_is_not_the_api_fails_fast(
    tmp_path: Path, web_page: Any, capsys: pytest.CaptureFixture[str], case: str, reason: str
) -> None:
    base_url = {
        "unknown-host": "https://woodpecker-api.invalid",
        "tls-to-plain-http": web_page.base_url.replace("http://", "https://"),
        "web-page": web_page.base_url,
    }[case]
    code, seconds = _timed_main(_load_args(tmp_path, base_url))
    out, err = capsys.readouterr()
    assert code == ExitCode.API, err
    assert seconds < FAST_S
    line = _one_error_line(err)
    assert base_url in line and reason in line
    assert "--base-url" in line  # the fix
    assert KEY not in out + err


@pytest.mark.parametrize(
    ("base_url", "fix"),
    [
        ("ftp://api.woodpecker.co", "e.g. https://api.woodpecker.co"),
        ("api.woodpecker.co", "e.g. https://api.woodpecker.co"),
        ("https://api.woodpecker.co/rest/v1/", "scheme and host only, e.g. https://api.woodpecker.co "),
    ],
)
def test_a_base_url_that_cannot_be_the_api_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], base_url: str, fix: str
) -> None:
    code = main(_load_args(tmp_path, base_url))
    line = _one_error_line(capsys.readouterr().err)
    assert code == ExitCode.CONFIGURATION
    assert repr(base_url) in line and fix in line and "--base-url" in line


def test_webhooks_list_against_an_unreachable_host_fails_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__WOODPECKER__BASE_URL", "https://woodpecker-api.invalid")
    monkeypatch.setenv("SOURCES__WOODPECKER__API_KEY", KEY)
    code, seconds = _timed_main(["webhooks", "list"])
    out, err = capsys.readouterr()
    assert code == ExitCode.API, err
    assert seconds < FAST_S
    line = _one_error_line(err)
    assert "https://woodpecker-api.invalid" in line and "does not resolve" in line
    assert KEY not in out + err


def test_push_to_a_closed_port_fails_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "leads.csv").write_text("email,first_name\nada@example.org,Ada\n")
    base_url = f"http://127.0.0.1:{_closed_port()}"
    code, seconds = _timed_main(
        ["push", "--file", str(tmp_path / "leads.csv"), "--base-url", base_url, "--api-key", KEY,
         "--duckdb-path", str(tmp_path / "wp.duckdb"), "--pipelines-dir", str(tmp_path / "pipelines")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == ExitCode.API, err
    assert seconds < FAST_S
    line = _one_error_line(err)
    assert base_url in line and "connection refused" in line


# -- configuration mistakes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["demo", "--prospects", "-5"], "argument --prospects: must not be negative"),
        (["load", "--workers", "0"], "argument --workers: must be at least 1"),
        (["transform", "--workers", "0"], "argument --workers: must be at least 1"),
        (["load", "--resources", ""], "argument --resources: needs at least one name"),
        (["load", "--resources", " , "], "argument --resources: needs at least one name"),
        (["load", "--accounts", ""], "argument --accounts: needs at least one name"),
        (["webhooks", "serve", "--spool", "s", "--port", "70000"], "argument --port: must be a port number"),
    ],
)
def test_argument_mistakes_are_one_line_and_exit_2(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == ExitCode.CONFIGURATION
    assert len(err.strip().splitlines()) == 1, err
    assert says in err and "--help" in err


def test_a_destination_typo_names_the_closest_destination(tmp_path: Path) -> None:
    code, _, err, _ = _run(tmp_path, *_load_args(tmp_path, "http://127.0.0.1:9", "--destination", "duckbd"))
    assert code == ExitCode.CONFIGURATION
    line = _one_error_line(err)
    assert "Unknown destination 'duckbd'. Did you mean duckdb?" in line
    assert "postgres" in line and "bigquery" in line
    assert "DESTINATION__" not in err.replace(line, "")  # none of dlt's multi-line advice


@pytest.mark.parametrize("option", ["--summary-json", "--duckdb-path"])
def test_a_file_in_a_missing_directory_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    missing = tmp_path / "no-such-dir" / "file"
    args = _load_args(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    code = main([*args, option, str(missing)])
    line = _one_error_line(capsys.readouterr().err)
    assert code == ExitCode.CONFIGURATION
    assert f"the directory {missing.parent} does not exist" in line and f"mkdir -p {missing.parent}" in line
    assert not (tmp_path / "pipelines").exists()  # refused before anything started


def test_demo_into_a_missing_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "nope" / "demo.duckdb"
    assert main(["demo", "--prospects", "10", "--duckdb-path", str(target)]) == ExitCode.CONFIGURATION
    assert "does not exist" in _one_error_line(capsys.readouterr().err)


def test_an_unwritable_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The superuser may write anywhere, so the permission answer is the operating system's, imitated.
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    real_access = os.access
    monkeypatch.setattr(
        cli.os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode)
    )
    code = main(_load_args(tmp_path, "http://127.0.0.1:9", "--duckdb-path", str(locked / "wp.duckdb")))
    line = _one_error_line(capsys.readouterr().err)
    assert code == ExitCode.CONFIGURATION
    assert f"{locked} is not writable" in line


def test_a_directory_as_the_duckdb_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_load_args(tmp_path, "http://127.0.0.1:9", "--duckdb-path", str(tmp_path)))
    assert code == ExitCode.CONFIGURATION
    assert "is a directory; give a file path" in _one_error_line(capsys.readouterr().err)


# -- signals ----------------------------------------------------------------------------------------------


def _interrupted_load(args: list[str], tmp_path: Path, sig: int) -> tuple[int, str, str]:
    """Start `woodpecker-etl load`, send `sig` once it is extracting; exit code, stdout, stderr."""
    process = subprocess.Popen(
        [SCRIPT, *args], cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # wait until the load is under way
        seen.append(line)
        if "Extracting" in line:
            break
    time.sleep(0.5)
    process.send_signal(sig)
    out, rest = process.communicate(timeout=30)
    return process.returncode, out, "".join(seen) + rest


def test_ctrl_c_and_sigterm_stop_the_load_with_one_line_and_the_next_load_resumes(
    make_simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_simulator(prospects=200, campaigns=3, latency_s=0.2)  # slow answers: still extracting
    args = _load_args(tmp_path, sim.base_url)
    args[args.index("--api-key") + 1] = sim.api_key
    for sig, expected in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        code, out, err = _interrupted_load(args, tmp_path, sig)
        assert code == expected, err
        assert err.strip().splitlines()[-1] == "interrupted; the next `load` resumes"
        for raw in RAW_EXCEPTIONS:
            assert raw not in out + err
        assert "Loaded Woodpecker" not in out

    sim.config.latency_s = 0.0
    assert main(args) == ExitCode.OK, capsys.readouterr().err
    truth = sim.truth()
    with duckdb.connect(str(tmp_path / "wp.duckdb"), read_only=True) as con:
        live = con.sql("SELECT id FROM woodpecker.prospects WHERE deleted_at IS NULL").fetchall()
        members = con.sql("SELECT COUNT(*) FROM woodpecker.campaign_prospects").fetchone()
    assert {row[0] for row in live} == set(truth.prospects["id"])
    assert members is not None and members[0] == len(truth.campaign_prospects)


def test_sigterm_stops_a_push_between_batches_and_the_next_push_sends_the_rest_once(
    make_simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_simulator(prospects=50, campaigns=3, latency_s=0.4)
    emails = [f"lead{n}@example.org" for n in range(6)]
    (tmp_path / "leads.csv").write_text("email\n" + "\n".join(emails) + "\n")
    args = ["push", "--file", str(tmp_path / "leads.csv"), "--batch-size", "1", "--base-url", sim.base_url,
            "--api-key", sim.api_key, "--duckdb-path", str(tmp_path / "wp.duckdb"),
            "--pipelines-dir", str(tmp_path / "pipelines")]  # fmt: skip
    process = subprocess.Popen(
        [SCRIPT, *args], cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:  # the first batch is sent and recorded
        if line.startswith("  batch 1/6"):
            break
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1].startswith("interrupted; the next `push` of the same input resumes")
    for raw in RAW_EXCEPTIONS:
        assert raw not in err

    sim.config.latency_s = 0.0
    assert main(args) == ExitCode.OK
    assert "already sent by an earlier run were skipped" in capsys.readouterr().out
    posted = [r for r in sim.requests if r.path.startswith("/rest/v1/add_prospects_")]
    # Recorded batches are not sent again; one in flight when the signal came may be, and is then
    # answered as a duplicate: no prospect exists twice.
    assert len(emails) <= len(posted) <= len(emails) + 1
    stored = sorted(p.fields["email"] for p in sim.account.prospects.values() if p.fields["email"] in emails)
    assert stored == sorted(emails)


# -- habits ---------------------------------------------------------------------------------------------


def test_help_imports_no_heavy_library_and_answers_fast(tmp_path: Path) -> None:
    probe = (
        "import sys, time\n"
        "from pipelines.cli import main\n"
        "for argv in (['--help'], ['load', '--help'], ['transform', '--help'], ['status', '--help'],"
        " ['push', '--help'], ['dashboard', '--help'], ['demo', '--help'], ['webhooks', '--help'],"
        " ['webhooks', 'subscribe', '--help'], ['webhooks', 'unsubscribe', '--help'],"
        " ['webhooks', 'list', '--help'], ['webhooks', 'serve', '--help'], ['--version']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exit_:\n"
        "        assert exit_.code == 0, argv\n"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_env(tmp_path), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    code, out, _, seconds = _run(tmp_path, "load", "--help")
    assert code == 0 and "--full-refresh" in out
    assert seconds < 2.0  # well under a second on an idle machine; the import check above is the strict one


def test_version_is_the_installed_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    code, out, _, _ = _run(tmp_path, "--version")
    assert code == 0
    assert out.strip() == f"woodpecker-etl {version('woodpecker-etl')}"


def _help(*command: str) -> str:
    done = subprocess.run([SCRIPT, *command, "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _subparser(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in names:
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = commands.choices[name]
    return parser


@pytest.mark.parametrize(
    "command",
    [
        ("load",),
        ("transform",),
        ("status",),
        ("push",),
        ("demo",),
        ("webhooks", "subscribe"),
        ("webhooks", "list"),
        ("webhooks", "serve"),
    ],
)
def test_every_option_says_its_default(command: tuple[str, ...]) -> None:
    printed = "".join(_help(*command).split())  # help wraps lines, even after a hyphen
    parser = _subparser(cli.build_parser(), command)
    checked = 0
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS or action.nargs == 0:
            continue  # positional, hidden, or a switch (off unless given)
        shown = parser._get_formatter()._expand_help(action)
        assert "".join(shown.split()) in printed
        assert "default" in shown or "required" in shown, f"{' '.join(command)} {action.option_strings[0]}"
        checked += 1
    assert checked >= 2
    if command == ("demo",):
        for default in (
            "(default: 10000)",
            "(default: 30)",
            "(default: 7)",
            "(default: ./woodpecker_demo.duckdb)",
        ):
            assert "".join(default.split()) in printed


@pytest.mark.parametrize("position", ["before", "after"])
def test_verbose_and_traceback_work_after_the_sub_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, position: str
) -> None:
    monkeypatch.delenv("RUNTIME__LOG_LEVEL", raising=False)  # restored after the test
    load = _load_args(tmp_path, "ftp://nowhere")
    flags = ["-v", "--traceback"]
    argv = [*flags, *load] if position == "before" else [*load, *flags]
    with pytest.raises(Exception, match="must start with https://"):
        main(argv)  # --traceback: the exception itself, not the one-line answer
    assert main([*load, "-v"]) == ExitCode.CONFIGURATION
    assert os.environ.get("RUNTIME__LOG_LEVEL") == "INFO"
    capsys.readouterr()


def test_normal_output_has_no_load_id_or_raw_dlt_warnings(
    make_simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNTIME__LOG_LEVEL", raising=False)
    simulator = make_simulator(prospects=150, campaigns=3)
    args = _load_args(tmp_path, simulator.base_url, "--dataset", "my-data")
    args[args.index("--api-key") + 1] = simulator.api_key
    code, out, err, _ = _run(tmp_path, *args)
    assert code == ExitCode.OK, err
    assert "→ Normalizing woodpecker\n" in err and "→ Loading woodpecker\n" in err
    assert not re.search(r"\b1\d{9}\.\d+", out + err)  # dlt's load id: a Unix time with fractions
    assert "[WARNING]" not in err and "dlt|" not in err
    hint = out.strip().splitlines()[-1].strip()
    assert "FROM my_data.campaign_performance" in hint  # as DuckDB stores the dataset
    shown = subprocess.run(hint, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "campaign_id" in shown.stdout


def test_simulator_options_are_documented_and_checked(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0
    for option in ("--port", "--seed", "--prospects", "--campaigns", "--latency-ms", "--fault-rate"):
        assert option in shown.stdout
    assert "(default: 8765)" in shown.stdout and "(default: 10000)" in shown.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "simulator", "--prospects", "-5"], capture_output=True, text=True, timeout=60
    )
    assert wrong.returncode == ExitCode.CONFIGURATION
    assert wrong.stderr.strip().splitlines()[-1] == (
        "python -m simulator: error: prospects and campaigns must not be negative"
    )
    assert "Traceback" not in wrong.stderr


def test_the_readme_queries_run_with_the_projects_python(
    make_simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    queries = re.findall(r"^\s*\$? ?(\.venv/bin/python -c \"import duckdb;.*\")$", readme, re.MULTILINE)
    assert len(queries) >= 3
    assert "\nduckdb " not in readme and "$ duckdb " not in readme  # no query needs the duckdb CLI
    sim = make_simulator(prospects=100, campaigns=3)
    monkeypatch.chdir(tmp_path)
    args = ["load", "--base-url", sim.base_url, "--api-key", sim.api_key, "--pipelines-dir", "pipelines"]
    assert main(args) == ExitCode.OK  # into ./woodpecker_etl.duckdb, the default the README queries
    (tmp_path / "leads.csv").write_text("email\nada@example.org\n")
    push = ["push", "--file", "leads.csv", "--base-url", sim.base_url, "--api-key", sim.api_key]
    assert main([*push, "--pipelines-dir", "pipelines"]) == ExitCode.OK  # push_results, queried too
    capsys.readouterr()
    for query in queries:
        command = query.replace(".venv/bin/python", shlex.quote(sys.executable), 1)
        done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{query}\n{done.stderr}"
        assert "│" in done.stdout  # a table was shown
