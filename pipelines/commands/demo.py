"""`woodpecker-etl demo`: serve the bundled simulator and load it into ./woodpecker_demo.duckdb."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .. import defaults
from . import arguments
from .command import Command
from .written_files import check_written_files

NAME = "demo"


def add_arguments(demo: argparse.ArgumentParser) -> None:
    """The arguments of `demo`."""
    generated = arguments.non_negative_int
    for flag, kind, default, text in (
        ("--prospects", generated, defaults.DEMO_PROSPECTS, "prospects generated"),
        ("--campaigns", generated, defaults.DEMO_CAMPAIGNS, "campaigns generated"),
        ("--seed", int, defaults.DEMO_SEED, "seed of the account; the same seed, the same data"),
    ):
        demo.add_argument(flag, type=kind, default=default, help=text)
    demo.add_argument(
        "--duckdb-path", default=defaults.DEMO_DUCKDB_PATH, help="DuckDB file the demo writes (created)"
    )


@dataclass(frozen=True)
class DemoArgs:
    """The options of `demo`.

    Attributes:
        prospects: Prospects generated.
        campaigns: Campaigns generated.
        seed: Seed of the account.
        duckdb_path: The DuckDB file the demo writes (only one it created itself is replaced).
    """

    prospects: int
    campaigns: int
    seed: int
    duckdb_path: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DemoArgs:
        """Read from parsed arguments."""
        return cls(args.prospects, args.campaigns, args.seed, args.duckdb_path)


def run(options: DemoArgs) -> int:
    """`woodpecker-etl demo`: start the bundled simulator and load it into a local DuckDB file."""
    # Workers load when the command runs, never for `--help`: they pull in dlt, DuckDB, sqlglot, uvicorn.
    from ..demo_run import check_demo_target, run_demo

    check_demo_target(options.duckdb_path)  # the demo replaces only a file it made: its own rule says why not
    check_written_files(defaults.DESTINATION, options.duckdb_path, None)
    return run_demo(
        prospects=options.prospects,
        campaigns=options.campaigns,
        seed=options.seed,
        duckdb_path=options.duckdb_path,
    )


HELP = "serve the bundled simulator and load it into ./woodpecker_demo.duckdb"
DESCRIPTION = (
    "Start the bundled Woodpecker simulator on 127.0.0.1, generate an account from the seed, "
    "load it into a DuckDB file and show campaign_performance. Needs no API key and no network."
)
INTERRUPTED = "interrupted; the next `demo` starts over"
COMMAND = Command(
    NAME, HELP, add_arguments, DemoArgs.from_args, run, description=DESCRIPTION, interrupted=INTERRUPTED
)
