"""Exit codes of `woodpecker-etl`, and the mapping from errors to them."""

from __future__ import annotations

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


class CliError(Exception):
    """An error already phrased for the user, with the exit code to leave with."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code
