"""Turn any exception from a load into one line a user can act on, with the right exit code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.destination.exceptions import (
    DestinationException,
    InvalidDestinationReference,
    UnknownDestinationModule,
)
from dlt.common.exceptions import MissingDependencyException

from sources.woodpecker.errors import AuthenticationError, ConfigurationError, WoodpeckerError

from .exit_codes import CliError, ExitCode, interrupted_code
from .lock import duckdb_locked_error, is_duckdb_lock_error

MISSING_KEY = (
    "No Woodpecker API key configured. Set SOURCES__WOODPECKER__API_KEY, add api_key under "
    "[sources.woodpecker] in .dlt/secrets.toml, or pass --api-key."
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (dlt wraps step failures in PipelineStepFailed)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "exception", None), current.__cause__, current.__context__])


def _lookup_sections(traces: Any) -> Iterator[list[str]]:
    """The config sections dlt searched, from the (nested) lookup traces of a missing field."""
    if hasattr(traces, "sections"):  # a LookupTrace (a named tuple)
        yield list(traces.sections)
    elif hasattr(traces, "traces"):  # the traces of a nested configuration, e.g. the credentials
        yield from _lookup_sections(traces.traces)
    elif isinstance(traces, dict):
        for value in traces.values():
            yield from _lookup_sections(value)
    elif isinstance(traces, list):
        for value in traces:
            yield from _lookup_sections(value)


def missing_destination_config(err: ConfigFieldMissingException) -> CliError | None:
    """A message naming the destination and where its credentials go, when those are what is missing."""
    for sections in _lookup_sections(err.traces):
        if len(sections) >= 2 and sections[0] == "destination" and sections[1] != "credentials":
            name = sections[1]
            fields = ", ".join(err.fields)
            prefix = f"DESTINATION__{name.upper()}"
            return CliError(
                f"The {name} destination is missing {fields}. Set {prefix}__CREDENTIALS (its connection "
                f"string or JSON key) or {prefix}__CREDENTIALS__<FIELD> environment variables, or add "
                f"[destination.{name}.credentials] to .dlt/secrets.toml (see docs/production.md).",
                ExitCode.CONFIGURATION,
            )
    return None


def unknown_destination(err: UnknownDestinationModule | InvalidDestinationReference) -> CliError:
    """`--destination` names no dlt destination: the closest names, and where the known ones are listed."""
    import difflib

    import dlt.destinations

    known = sorted(name for name in dlt.destinations.__all__ if name != "destination")
    name = str(getattr(err, "ref", None) or getattr(err, "refs", ""))
    close = difflib.get_close_matches(name.lower(), known, n=2)
    guess = f" Did you mean {' or '.join(close)}?" if close else ""
    return CliError(
        f"Unknown destination {name!r}.{guess} --destination takes a dlt destination: {', '.join(known)} "
        f"(a named destination needs DESTINATION__<NAME>__DESTINATION_TYPE; see docs/production.md).",
        ExitCode.CONFIGURATION,
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def redact(text: str, secret: str | None) -> str:
    """Remove a secret (as given, and without the whitespace around it) from a message."""
    for variant in {secret, secret.strip()} if secret else ():
        if variant:
            text = text.replace(variant, "***")
    return text


def translate_error(exc: BaseException, api_key: str | None = None) -> CliError:
    """Map an exception raised during a load to a `CliError`.

    Args:
        exc: What the load raised (often dlt's `PipelineStepFailed` wrapping the real cause).
        api_key: The key in use, removed from any message as a last line of defence.

    Returns:
        A `CliError` with a one-line message and the exit code.
    """
    if isinstance(exc, CliError):
        return exc
    chain = list(_chain(exc))
    for err in chain:
        if isinstance(err, KeyboardInterrupt):  # Ctrl-C / SIGTERM, also dlt's SignalReceivedException
            code = interrupted_code(err)
            return CliError("interrupted" if code == ExitCode.INTERRUPTED else "terminated", code)
    for err in chain:
        if isinstance(err, CliError):
            return err
        if isinstance(err, UnknownDestinationModule | InvalidDestinationReference):
            return unknown_destination(err)
        if isinstance(err, ConfigFieldMissingException):
            if any("api_key" in name for name in err.fields):
                return CliError(MISSING_KEY, ExitCode.CONFIGURATION)
            destination_error = missing_destination_config(err)
            if destination_error is not None:
                return destination_error
            fields = ", ".join(err.fields)
            return CliError(f"Missing configuration value(s): {fields}.", ExitCode.CONFIGURATION)
        if isinstance(err, MissingDependencyException):
            extras = ", ".join(f"'{dep}'" for dep in err.dependencies)
            return CliError(
                f"{err.caller} needs packages that are not installed: pip install {extras} "
                f"(keep dlt at the version this project pins).",
                ExitCode.CONFIGURATION,
            )
        if isinstance(err, AuthenticationError):
            return CliError(redact(str(err), api_key), ExitCode.AUTHENTICATION)
        if isinstance(err, ConfigurationError):
            return CliError(redact(str(err), api_key), ExitCode.CONFIGURATION)
    for err in chain:
        if isinstance(err, WoodpeckerError):
            return CliError(redact(_first_line(str(err)), api_key), ExitCode.API)
    for err in chain:
        text = str(err)
        if is_duckdb_lock_error(text):
            return duckdb_locked_error(text)
        if isinstance(err, DestinationException):
            return CliError(
                redact(f"The destination failed: {_first_line(text)}", api_key), ExitCode.DESTINATION
            )
    root = chain[-1] if chain else exc
    message = _first_line(str(root)) or type(root).__name__
    return CliError(redact(f"{type(root).__name__}: {message}", api_key), ExitCode.FAILURE)
