"""The simulator's switches for API behaviours the documents leave open (docs/simulator.md)."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime

import pytest

from simulator import Simulator, SimulatorConfig

from .test_api_contract import get

PROSPECTS = "/rest/v1/prospects"
MakeSim = Callable[..., Simulator]


def test_page_size_cap_serves_fewer_rows_numbered_at_the_cap(make_simulator: MakeSim) -> None:
    sim = make_simulator(prospects=120, page_size_cap=50)
    everything = get(sim, PROSPECTS, sort="+id", page=1, per_page=1000).json()
    assert len(everything) == 50
    second = get(sim, PROSPECTS, sort="+id", page=2, per_page=1000)
    assert second.headers["X-Total-Count"] == str(len(sim.truth().prospects))
    ids = [row["id"] for row in everything + second.json()]
    assert ids == sorted(sim.truth().prospects.id)[:100]  # page 2 starts at row 51


def test_count_can_be_left_out_or_overstated(make_simulator: MakeSim) -> None:
    sim = make_simulator(prospects=30, total_count=False)
    assert "X-Total-Count" not in get(sim, PROSPECTS).headers
    sim.config.total_count, sim.config.overcount = True, 4
    assert get(sim, PROSPECTS).headers["X-Total-Count"] == str(len(sim.truth().prospects) + 4)


@pytest.mark.parametrize("skew", [3600, -5400])
def test_date_header_can_be_skewed_or_left_out(make_simulator: MakeSim, skew: int) -> None:
    sim = make_simulator(prospects=10, date_skew_s=skew)
    served = parsedate_to_datetime(get(sim, PROSPECTS).headers["Date"])
    assert (served - sim.clock.now()).total_seconds() == skew
    sim.config.date_header = False
    assert "Date" not in get(sim, PROSPECTS).headers


def test_impossible_switch_values_are_refused() -> None:
    with pytest.raises(ValueError, match="page_size_cap"):
        SimulatorConfig(page_size_cap=0)
    with pytest.raises(ValueError, match="overcount"):
        SimulatorConfig(overcount=-1)
