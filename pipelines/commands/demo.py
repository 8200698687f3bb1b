"""`woodpecker-etl demo`: serve the bundled simulator and load it into ./woodpecker_demo.duckdb."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .. import defaults
from .arguments import Subcommands, add_command, non_negative_int
from .command import Command
from .written_files import check_written_files

NAME = "demo"


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The parser of `demo`."""
    demo = add_command(
        commands,
        NAME,
        help="serve the bundled simulator and load it into ./woodpecker_demo.duckdb",
        description="Start the bundled Woodpecker simulator on 127.0.0.1, generate an account from the seed, "
        "load it into a DuckDB file and show campaign_performance. Needs no API key and no network.",
    )
    demo.add_argument(
        "--prospects", type=non_negative_int, default=defaults.DEMO_PROSPECTS, help="prospects generated"
    )
    demo.add_argument(
        "--campaigns", type=non_negative_int, default=defaults.DEMO_CAMPAIGNS, help="campaigns generated"
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=defaults.DEMO_SEED,
        help="seed of the account; the same seed, the same data",
    )
    demo.add_argument(
        "--duckdb-path", default=defaults.DEMO_DUCKDB_PATH, help="DuckDB file the demo writes (created)"
    )
    return demo


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

    @property
    def api_key(self) -> str | None:
        """None: the demo's simulator makes its own key."""
        return None


def run(options: DemoArgs) -> int:
    """`woodpecker-etl demo`: start the bundled simulator and load it into a local DuckDB file."""
    # Workers import dlt: they load when the command runs, never for `--help` (pipelines/commands/).
    from ..demo_run import check_demo_target, run_demo

    check_demo_target(options.duckdb_path)  # the demo replaces only a file it made: its own rule says why not
    check_written_files(defaults.DESTINATION, options.duckdb_path, None)
    return run_demo(
        prospects=options.prospects,
        campaigns=options.campaigns,
        seed=options.seed,
        duckdb_path=options.duckdb_path,
    )


COMMAND = Command(NAME, add_parser, DemoArgs.from_args, run, "interrupted; the next `demo` starts over")
