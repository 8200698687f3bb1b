"""Live-account trials under the API's undocumented variations: smaller pages, no count, an odd clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .common import Size, Tally
from .live import live_trial

# A small account: the variations change how pages and cursors are read, not how much there is to read.
VARIATION_SIZE = Size(prospects=250, campaigns=4, fault_trials=0, crash_trials=0, live_trials=1)
# Every switch of docs/simulator.md, a page-size variation with a clock variation in each trial.
VARIATIONS: dict[str, dict[str, Any]] = {
    "page-size-cap,date-ahead-1h": {"page_size_cap": 150, "date_skew_s": 3600},
    "no-total-count,date-behind-1h": {"total_count": False, "date_skew_s": -3600},
    "cap-without-count,no-date-header": {"page_size_cap": 150, "total_count": False, "date_header": False},
}


@pytest.mark.parametrize("variation", list(VARIATIONS))
def test_live_changes_and_incremental_runs_under_api_variations(tmp_path: Path, variation: str) -> None:
    tally = Tally()
    trial, changes = live_trial(11, VARIATION_SIZE, tmp_path, switches=VARIATIONS[variation])
    tally.add(trial)
    assert changes >= 3, "the account hardly changed mid-run"
    assert tally.clean, tally.problems
    assert tally.runs_completed == 4  # first, during the changes, reconcile, incremental
