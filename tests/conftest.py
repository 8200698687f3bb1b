"""Fixtures shared by every test: telemetry off, and simulators of the Woodpecker API on 127.0.0.1."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
# dlt keeps pipelines it is given no directory for in its data dir (~/.dlt by default). Each test process
# (each pytest-xdist worker) gets its own, so parallel workers never share a pipeline's local state and
# the suite leaves nothing in the home directory.
os.environ["DLT_DATA_DIR"] = tempfile.mkdtemp(
    prefix=f"woodpecker-etl-dlt-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"
)

from simulator import Simulator, SimulatorConfig

atexit.register(shutil.rmtree, os.environ["DLT_DATA_DIR"], ignore_errors=True)

SMALL = {"seed": 7, "prospects": 600, "campaigns": 6}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules holding a test marked `slow` run first, each module's tests still together and in order.

    pytest-xdist hands tests out in this order: a long test collected last would keep one worker busy
    alone at the end while the others are idle. Keeping a module together keeps its module-scoped
    fixtures to one set-up per worker.
    """
    slow_modules = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in slow_modules)


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., Simulator]]:
    """Factory: `make_simulator(**config)` starts a simulator that is stopped at teardown."""
    started: list[Simulator] = []

    def make(**config: Any) -> Simulator:
        sim = Simulator(SimulatorConfig(**{**SMALL, **config})).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def simulator(make_simulator: Callable[..., Simulator]) -> Simulator:
    """A small simulated account (seed 7, 600 prospects, 6 campaigns), served over real HTTP."""
    return make_simulator()
