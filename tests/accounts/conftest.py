"""Several simulated Woodpecker accounts configured as `[accounts.<name>]` through environment variables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dlt
import pandas as pd
import pytest

from pipelines.account_column import ACCOUNT_ID
from pipelines.cli import main
from simulator import Simulator
from tests.source.compare import loaded
from tests.source.harness import Loader

AGENCY_KEY = "agency-secret-key-4242"
# name → (seed, prospects, campaigns); globex is read with the agency key and its company id.
ACCOUNTS = {"acme": (11, 260, 4), "globex": (12, 180, 3), "initech": (13, 220, 4)}
GLOBEX_COMPANY_ID = 501


@dataclass
class Fleet:
    """The simulators, one per account, and where the command writes."""

    sims: dict[str, Simulator]
    workdir: Path

    @property
    def duckdb_path(self) -> Path:
        return self.workdir / "agency.duckdb"

    def load(self, *extra: str) -> int:
        """`woodpecker-etl load --accounts …` in-process; returns the exit code."""
        return self.run("load", *extra)

    def run(self, command: str, *extra: str) -> int:
        """`woodpecker-etl <command> …` in-process on this fleet's files; returns the exit code."""
        return main(
            [
                command,
                "--duckdb-path",
                str(self.duckdb_path),
                "--pipelines-dir",
                str(self.workdir / "pipelines"),
                *extra,
            ]
        )

    def pipeline(self, name: str, dataset: str) -> dlt.Pipeline:
        """The account's pipeline as the command created it."""
        return dlt.pipeline(
            pipeline_name=f"woodpecker_{name}",
            destination=dlt.destinations.duckdb(str(self.duckdb_path)),
            dataset_name=dataset,
            pipelines_dir=str(self.workdir / "pipelines"),
        )


class AccountLoader(Loader):
    """A `Loader` reading one account's tables: its own dataset, or its rows of the shared tables."""

    account: str = ""
    shared: bool = False

    def table(self, name: str, live_only: bool = True) -> pd.DataFrame:
        frame = loaded(self.pipeline, name, live_only)
        if not self.shared:
            assert ACCOUNT_ID not in frame.columns
            return frame
        mine = frame[frame[ACCOUNT_ID] == self.account]
        return mine.drop(columns=[ACCOUNT_ID]).reset_index(drop=True)


def account_loader(fleet: Fleet, name: str, shared: bool) -> AccountLoader:
    """A loader over what the command loaded for account `name`."""
    # The harness would create its own pipeline under `tmp_path`; keep it apart from the command's.
    loader = AccountLoader(fleet.sims[name], fleet.workdir / "harness", name=name)
    loader.account, loader.shared = name, shared
    loader.pipeline = fleet.pipeline(name, "woodpecker" if shared else f"woodpecker_{name}")
    return loader


@pytest.fixture
def fleet(
    make_simulator: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Fleet]:
    """Three accounts (two own keys, one agency key + company id), configured only by environment."""
    sims: dict[str, Simulator] = {}
    for name, (seed, prospects, campaigns) in ACCOUNTS.items():
        config = {"seed": seed, "prospects": prospects, "campaigns": campaigns, "api_key": f"{name}-own-key"}
        if name == "globex":
            config.update(agency_key=AGENCY_KEY, company_id=GLOBEX_COMPANY_ID)
        sims[name] = make_simulator(**config)
        monkeypatch.setenv(f"ACCOUNTS__{name.upper()}__BASE_URL", sims[name].base_url)
    monkeypatch.setenv("ACCOUNTS__ACME__API_KEY", sims["acme"].api_key)
    monkeypatch.setenv("ACCOUNTS__INITECH__API_KEY", sims["initech"].api_key)
    monkeypatch.setenv("ACCOUNTS__AGENCY_KEY", AGENCY_KEY)
    monkeypatch.setenv("ACCOUNTS__GLOBEX__COMPANY_ID", str(GLOBEX_COMPANY_ID))
    monkeypatch.setenv("SOURCES__WOODPECKER__BACKOFF_FACTOR", "0")
    yield Fleet(sims, tmp_path)
