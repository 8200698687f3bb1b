"""`make soak`: the reliability trials at full size, with a table of what happened.

    python -m tests.reliability.soak                      # FULL: 200 fault, 20 crash, 10 live trials
    python -m tests.reliability.soak --fault-trials 20 --crash-trials 5 --live-trials 2

Exit status 0 only when there were no mismatches, duplicates, cursors ahead of the data, key leaks or
unclear failures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from .common import FULL, Size, Tally
from .crashes import crash_trial
from .faults import fault_trial
from .keyscan import EXPECTED_CODES, scan_runs_and_files
from .live import live_trial

COLUMNS = (
    ("trials", "trials"),
    ("faults_injected", "faults injected"),
    ("retries", "retries"),
    ("runs_completed", "runs completed"),
    ("failed_cleanly", "failed cleanly"),
    ("failed_otherwise", "failed unclearly"),
    ("mismatches", "mismatches"),
    ("duplicates", "duplicates"),
    ("cursor_ahead", "cursor ahead"),
    ("key_leaks", "key leaks"),
)


def table(parts: dict[str, Tally]) -> str:
    """The soak's result table, one row per part and a total."""
    total = Tally()
    for tally in parts.values():
        total.add(tally)
    rows = [(name, tally.counts()) for name, tally in [*parts.items(), ("total", total)]]
    header = ["part", *(title for _, title in COLUMNS)]
    cells = [[name, *(f"{counts[key]:,}" for key, _ in COLUMNS)] for name, counts in rows]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines += [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    return "\n".join(lines)


def _progress(part: str, done: int, total: int, tally: Tally, started: float) -> None:
    print(
        f"  {part}: {done}/{total} trials, {tally.runs_completed} runs completed, "
        f"{tally.failed_cleanly} failed cleanly, {len(tally.problems)} problems, "
        f"{time.monotonic() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def soak(size: Size, root: Path, seed_offset: int = 0) -> tuple[dict[str, Tally], Counter[str], float]:
    """Run every part; returns the tallies per part, where the kills landed, and the seconds taken."""
    started = time.monotonic()
    parts: dict[str, Tally] = {
        "API faults": Tally(),
        "crashes": Tally(),
        "live changes": Tally(),
        "key scan": Tally(),
    }
    for i in range(size.fault_trials):
        parts["API faults"].add(fault_trial(seed_offset + i, size, root / f"fault{i}"))
        if (i + 1) % 10 == 0 or i + 1 == size.fault_trials:
            _progress("API faults", i + 1, size.fault_trials, parts["API faults"], started)
    landed: Counter[str] = Counter()
    for i in range(size.crash_trials):
        tally, kill = crash_trial(seed_offset + i, size, root / f"crash{i}")
        parts["crashes"].add(tally)
        landed[kill.landed_in if kill.killed else "finished before the kill"] += 1
        _progress("crashes", i + 1, size.crash_trials, parts["crashes"], started)
    for i in range(size.live_trials):
        tally, _ = live_trial(seed_offset + i, size, root / f"live{i}")
        parts["live changes"].add(tally)
    _progress("live changes", size.live_trials, size.live_trials, parts["live changes"], started)
    scan = scan_runs_and_files(seed_offset, size, root / "keyscan")
    keys = parts["key scan"]
    keys.trials = 1
    keys.runs_completed = sum(1 for code in scan.codes.values() if code == 0)
    keys.failed_cleanly = sum(1 for name, code in scan.codes.items() if code and code == EXPECTED_CODES[name])
    keys.failed_otherwise = sum(1 for name, code in scan.codes.items() if code != EXPECTED_CODES[name])
    keys.key_leaks = len(scan.hits)
    keys.problems += [f"key found in {hit}" for hit in scan.hits]
    return parts, landed, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """Parse the sizes, run the soak, print the table; non-zero exit when anything went wrong."""
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak", description=__doc__)
    parser.add_argument("--fault-trials", type=int, default=FULL.fault_trials)
    parser.add_argument("--crash-trials", type=int, default=FULL.crash_trials)
    parser.add_argument("--live-trials", type=int, default=FULL.live_trials)
    parser.add_argument("--prospects", type=int, default=FULL.prospects)
    parser.add_argument("--seed-offset", type=int, default=1000, help="first seed (differs from make test's)")
    args = parser.parse_args(argv)
    size = replace(
        FULL,
        prospects=args.prospects,
        fault_trials=args.fault_trials,
        crash_trials=args.crash_trials,
        live_trials=args.live_trials,
    )
    print(
        f"Soak: {size.fault_trials} fault, {size.crash_trials} crash, {size.live_trials} live trials "
        f"and a key scan on accounts of {size.prospects:,} prospects and {size.campaigns} campaigns",
        file=sys.stderr,
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="woodpecker-soak-") as root:
        parts, landed, seconds = soak(size, Path(root), args.seed_offset)
    print(table(parts))
    print("kills landed in: " + ", ".join(f"{phase} {n}" for phase, n in sorted(landed.items())))
    print(f"took {seconds / 60:.1f} min")
    problems = [p for tally in parts.values() for p in tally.problems]
    for problem in problems:
        print(f"PROBLEM {problem}")
    clean = all(tally.clean for tally in parts.values())
    print("result: " + ("clean" if clean else "PROBLEMS FOUND"))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
