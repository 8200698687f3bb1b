"""`Command`: what each command module gives `pipelines/cli.py`: its parser, typed options and handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from .arguments import Subcommands


class CommandOptions(Protocol):
    """What `pipelines/cli.py` reads of any command's options."""

    @property
    def api_key(self) -> str | None:
        """The key given with `--api-key` (None without one): never shown in an error message."""
        ...


OptionsT = TypeVar("OptionsT", bound=CommandOptions)


@dataclass(frozen=True)
class Command(Generic[OptionsT]):
    """One sub-command of `woodpecker-etl`.

    Attributes:
        name: The sub-command's name (`woodpecker-etl <name>`).
        add_parser: Adds the sub-command's parser, with its arguments and help, to the top parser's
            sub-commands.
        options: The command's typed, frozen options, read once from the parsed arguments.
        run: The handler: does the work and returns the exit code (or raises `CliError`).
        interrupted: The line printed when a signal stops the command: what it leaves behind.
    """

    name: str
    add_parser: Callable[[Subcommands], argparse.ArgumentParser]
    options: Callable[[argparse.Namespace], OptionsT]
    run: Callable[[OptionsT], int]
    interrupted: str = "interrupted"
