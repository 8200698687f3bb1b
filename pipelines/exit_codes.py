"""Exit codes of `woodpecker-etl`, and the mapping from errors to them."""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README."""

    OK = 0
    FAILURE = 1
    CONFIGURATION = 2
    AUTHENTICATION = 3
    API = 4
    DESTINATION = 5
    BUSY = 6
    PARTIAL = 7  # several accounts loaded: some succeeded, some failed
    INCOMPLETE = 8  # loaded, but a table holds fewer rows than the API counted
    DATA_TEST = 9  # `transform --test`: a schema.yml test of the models failed
    INTERRUPTED = 128 + signal.SIGINT  # 130: Ctrl-C
    TERMINATED = 128 + signal.SIGTERM  # 143: SIGTERM, what schedulers and containers send


class CliError(Exception):
    """An error already phrased for the user, with the exit code to leave with."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; raised in the main thread so the command stops and says so.

    A `KeyboardInterrupt`, like the one Python raises for Ctrl-C, so that no `except Exception` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def interrupted_code(exc: BaseException) -> ExitCode:
    """130 for SIGINT (and a plain `KeyboardInterrupt`), 143 for SIGTERM.

    Reads `Interrupted.signum` and dlt's `SignalReceivedException.signal_code`.
    """
    signum = getattr(exc, "signum", None) or getattr(exc, "signal_code", None)
    return ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED
