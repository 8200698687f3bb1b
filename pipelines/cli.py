"""`woodpecker-etl`: load a Woodpecker account, rebuild engagement tables, push prospects, run the demo."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from . import defaults
from .cli_args import build_parser as _build_parser
from .exit_codes import CliError, ExitCode, Interrupted, interrupted_code

# What a stopped command leaves behind, for the one line printed when it is interrupted.
INTERRUPTED_NEXT = {
    "load": "interrupted; the next `load` resumes",
    "demo": "interrupted; the next `demo` starts over",
    "push": "interrupted; the next `push` of the same input resumes (batches already sent are skipped)",
    "transform": "interrupted; the engagement tables are as before, the next `transform` rebuilds them",
}
# Commands that write the DuckDB file of a duckdb (or filesystem) destination.
WRITING_COMMANDS = ("load", "transform", "push", "demo")


def version() -> str:
    """The installed version of woodpecker-etl ("" when it is not installed as a package)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("woodpecker-etl")
    except PackageNotFoundError:
        return ""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `woodpecker-etl` (`pipelines/cli_args.py`)."""
    return _build_parser(version())


def _configure_logging(verbosity: int) -> None:
    """`-v` logs at INFO, `-vv` at DEBUG; without, dlt's warnings stay out of the output (errors are ours).

    `RUNTIME__LOG_LEVEL` set by the user wins over the quiet default.
    """
    if verbosity:
        level = "DEBUG" if verbosity > 1 else "INFO"
        os.environ["RUNTIME__LOG_LEVEL"] = level
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    else:
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")


def _writable_dir(option: str, path: Path, created: Path | None = None) -> None:
    """Refuse a file path whose directory is missing or not writable, before any work is done.

    Args:
        option: The option that named the path, for the message.
        path: The file the command will write.
        created: A directory the command creates itself (`--pipelines-dir`): a file in it or in one of
            its parents that do not exist yet is accepted.
    """
    if path.is_dir():
        raise CliError(
            f"{option} {path} is a directory; give a file path, e.g. {path / 'woodpecker_etl.duckdb'}.",
            ExitCode.CONFIGURATION,
        )
    parent = path.parent
    if created is not None and not parent.exists():
        made, wanted = created.absolute(), parent.absolute()
        if made == wanted or wanted in made.parents:
            return
    if not parent.is_dir():
        raise CliError(
            f"{option} {path}: the directory {parent} does not exist; create it (mkdir -p {parent}) or "
            "choose another path.",
            ExitCode.CONFIGURATION,
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        where = path if path.exists() else parent
        raise CliError(
            f"{option} {path}: {where} is not writable by this user; choose another path or fix its "
            "permissions.",
            ExitCode.CONFIGURATION,
        )


def check_paths(args: argparse.Namespace) -> None:
    """The files a command will write can be written: refused in one line now, not after an hour's load.

    Raises:
        CliError: `ExitCode.CONFIGURATION`, naming the path and the fix.
    """
    pipelines_dir = getattr(args, "pipelines_dir", None)
    created = Path(pipelines_dir) if pipelines_dir else None
    summary_json = getattr(args, "summary_json", None)
    if summary_json:
        _writable_dir("--summary-json", Path(summary_json), created)
    destination = getattr(args, "destination", defaults.DESTINATION)
    path = getattr(args, "duckdb_path", None)
    if args.command == "demo" and path:  # the demo replaces only a file it made: its own rule says why not
        from .demo import check_demo_target

        check_demo_target(path)
    if args.command in WRITING_COMMANDS and path and destination in defaults.DUCKDB_FILE_DESTINATIONS:
        _writable_dir("--duckdb-path", Path(path), created)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "webhooks":  # `webhooks serve` runs without the source package and dlt
        from . import webhooks

        return webhooks.dispatch(args)
    from . import commands

    if args.command == "load":
        return commands.load(args)
    if args.command == "transform":
        return commands.transform(args)
    if args.command == "status":
        return commands.status(args)
    if args.command == "push":
        return commands.push(args)
    if args.command == "dashboard":
        from . import dashboard

        return dashboard.run(args)
    return commands.demo(args)


class _SignalStop:
    """The SIGINT / SIGTERM handler of a command: the first signal stops it, a second one ends it at once."""

    def __init__(self) -> None:
        self.stopping = False
        self.redelivered = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        """Raise `Interrupted` in the main thread; tell dlt's worker threads to stop at their next check."""
        if self.stopping and not self.redelivered:
            # A second signal while the first one unwinds: leave now, as after `kill -9` (nothing
            # committed is lost). Schedulers and impatient users expect the second Ctrl-C to work.
            os._exit(128 + signum)
        self.stopping, self.redelivered = True, False
        dlt_signals = sys.modules.get("dlt.common.runtime.signals")
        if dlt_signals is not None:  # threads running dlt steps stop at their next safe point
            dlt_signals.set_received_signal(signum)
            dlt_signals.wake_all()
        raise Interrupted(signum)

    def redeliver(self, signum: int) -> None:
        """Raise the signal again (its first `Interrupted` was lost in a finaliser)."""
        self.redelivered = True
        signal.raise_signal(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` in the main thread while the block runs.

    The exception unwinds the command like Ctrl-C does in any Python program: open transactions roll
    back, files and locks are closed, threads running dlt steps stop at their next check. What was
    committed stays committed, the same guarantee as after `kill -9` (docs/reliability.md): a load
    resumes from its load packages and state, a push from `push_results`. A second signal while the
    first one unwinds ends the process at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = _SignalStop()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        # A signal that lands in a finaliser (`__del__`) cannot stop the command there: Python prints
        # the exception and goes on. Deliver the signal again; it is raised at the next ordinary step.
        if isinstance(info.exc_value, Interrupted):
            handler.redeliver(info.exc_value.signum)
        else:
            previous_hook(info)

    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for sig, old in previous.items():
            signal.signal(sig, old)
        dlt_signals = sys.modules.get("dlt.common.runtime.signals")
        if dlt_signals is not None:
            dlt_signals.set_received_signal(0)


def _interrupted(args: argparse.Namespace, code: int) -> int:
    print(INTERRUPTED_NEXT.get(args.command, "interrupted"), file=sys.stderr, flush=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    # Machines running scheduled loads are often offline: no anonymous usage events unless asked for.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # SIGINT / SIGTERM are handled here for every step (`stop_on_signals`); dlt's own handlers, active only
    # while it normalises and loads, would forget a signal that arrives after its last check.
    os.environ.setdefault("RUNTIME__INTERCEPT_SIGNALS", "false")
    args = build_parser().parse_args(argv)
    show_traceback = args.traceback or getattr(args, "traceback_sub", False)
    _configure_logging(args.verbose + getattr(args, "verbose_sub", 0))
    try:
        with stop_on_signals():
            check_paths(args)
            return _dispatch(args)
    except KeyboardInterrupt as exc:
        if show_traceback:
            raise
        return _interrupted(args, interrupted_code(exc))
    except Exception as exc:
        if show_traceback:
            raise
        if isinstance(exc, CliError):
            error = exc
        else:  # imported only here: it pulls in dlt, which a CliError does not need
            from .error_messages import translate_error

            error = translate_error(exc, getattr(args, "api_key", None))
        if error.code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            return _interrupted(args, int(error.code))
        print(f"error: {error}", file=sys.stderr)
        return int(error.code)


if __name__ == "__main__":
    sys.exit(main())
