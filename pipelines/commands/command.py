"""`Command`: what each command module gives `pipelines/cli.py`: its help, arguments, options, handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .arguments import Subcommands, add_command

OptionsT = TypeVar("OptionsT")


def no_api_key(options: Any) -> None:
    """The `api_key` of a command without `--api-key`."""
    return None


@dataclass(frozen=True)
class Command(Generic[OptionsT]):
    """One sub-command of `woodpecker-etl`.

    Attributes:
        name: The sub-command's name (`woodpecker-etl <name>`).
        help: Its line in `woodpecker-etl --help`.
        add_arguments: Adds its arguments to its parser (`-v` and `--traceback` are there already).
        options: The command's typed, frozen options, read once from the parsed arguments.
        run: The handler: does the work and returns the exit code (or raises `CliError`).
        description: The text at the top of `woodpecker-etl <name> --help` (None: none).
        interrupted: The line printed when a signal stops the command: what it leaves behind.
        api_key: The key given with `--api-key` in the options (None without one), which an error
            message never shows.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    options: Callable[[argparse.Namespace], OptionsT]
    run: Callable[[OptionsT], int]
    description: str | None = None
    interrupted: str = "interrupted"
    api_key: Callable[[OptionsT], str | None] = no_api_key

    def add_parser(self, commands: Subcommands) -> argparse.ArgumentParser:
        """Add the command's parser, with its help and arguments, to the top parser's sub-commands."""
        parser = add_command(commands, self.name, help=self.help, description=self.description)
        self.add_arguments(parser)
        return parser
