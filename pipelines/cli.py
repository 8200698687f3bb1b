"""`woodpecker-etl`: the entry point: parse, dispatch to a command (`pipelines/commands/`), map errors."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from types import FrameType
from typing import Any

from .commands import dashboard, demo, load, push, status, transform, webhooks
from .commands.arguments import Parser, add_common_args
from .commands.command import Command
from .exit_codes import CliError, ExitCode, Interrupted, interrupted_code
from .memory import limit_malloc_arenas

# The dispatch table: every sub-command by name, in the order `--help` lists them (pipelines/commands/).
COMMANDS: dict[str, Command[Any]] = {
    command.name: command
    for command in (
        load.COMMAND,
        transform.COMMAND,
        status.COMMAND,
        push.COMMAND,
        dashboard.COMMAND,
        demo.COMMAND,
        webhooks.COMMAND,
    )
}


def version() -> str:
    """The installed version of woodpecker-etl ("" when it is not installed as a package)."""
    try:
        return package_version("woodpecker-etl")
    except PackageNotFoundError:
        return ""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `woodpecker-etl`: the top options, then each command's own parser."""
    parser = Parser(
        prog="woodpecker-etl",
        description="Load a Woodpecker.co account into DuckDB or any dlt destination.",
        epilog="Exit codes: 0 ok, 1 unexpected failure, 2 configuration, 3 authentication, 4 API or "
        "network, 5 destination, 6 busy, 7 some accounts failed, 8 incomplete, 9 model tests failed, "
        "130/143 interrupted (README.md).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version() or 'unknown'}")
    add_common_args(parser, top=True)
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(subcommands)
    return parser


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


def _interrupted(command: Command[Any], code: int) -> int:
    print(command.interrupted, file=sys.stderr, flush=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    # Machines running scheduled loads are often offline: no anonymous usage events unless asked for.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # SIGINT / SIGTERM are handled here for every step (`stop_on_signals`); dlt's own handlers, active only
    # while it normalises and loads, would forget a signal that arrives after its last check.
    os.environ.setdefault("RUNTIME__INTERCEPT_SIGNALS", "false")
    # Before any thread starts: fewer, fuller malloc arenas (pipelines/memory.py).
    limit_malloc_arenas()
    args = build_parser().parse_args(argv)
    command = COMMANDS[args.command]
    options = command.options(args)
    show_traceback = args.traceback or args.traceback_sub
    _configure_logging(args.verbose + args.verbose_sub)
    try:
        with stop_on_signals():
            return command.run(options)
    except KeyboardInterrupt as exc:
        if show_traceback:
            raise
        return _interrupted(command, interrupted_code(exc))
    except Exception as exc:
        if show_traceback:
            raise
        if isinstance(exc, CliError):
            error = exc
        else:  # imported only here, for start-up time: it pulls in dlt, which a CliError does not need
            from .error_messages import translate_error

            error = translate_error(exc, command.api_key(options))
        if error.code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            return _interrupted(command, int(error.code))
        print(f"error: {error}", file=sys.stderr)
        return int(error.code)


def console_main() -> None:
    """The console script (and `python -m pipelines.cli`): `main`, then exit with its code.

    The garbage collector is frozen before the interpreter exits: its last collections would otherwise
    walk every object dlt, pyarrow and DuckDB created, about 0.7 s at the end of every command. Exit
    handlers still run; the operating system takes back the memory.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console_main()
