"""Benchmark suite: `make bench` (or ``python -m bench.run --help``).

Each scenario starts the simulator in its own process (``bench.sim_server``), then runs the connector
(``woodpecker-etl load``) and the peer baseline (``bench.baselines.peer_rest_api``) alternately in
further processes, measuring wall time, client CPU seconds and the peak RSS of the client's process
tree, counting the HTTP requests the simulator served and checking row count and checksum against the
simulator's truth.
Results go to ``bench/results/<timestamp>.json``; medians are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from . import accounts_bench, scale_bench
from .harness import RESULTS, Scenario, SimProcess, client_cmd, db_checksum, measured


def whole_account(name: str, prospects: int) -> Scenario:
    """A whole account of `prospects` (40 campaigns), engagement tables built, without the peer: RSS."""
    return Scenario(
        name,
        prospects=prospects,
        campaigns=40,
        resources=None,
        transform=True,
        peer=False,
        notes="whole account, engagement tables built",
    )


SCENARIOS = {
    "full_1m": Scenario("full_1m", prospects=1_000_000, notes="full load of prospects, zero latency"),
    "full_account": Scenario(
        "full_account", prospects=200_000, campaigns=200, resources=None, notes="whole source"
    ),
    "incremental_1pct": Scenario(
        "incremental_1pct",
        prospects=200_000,
        campaigns=200,
        resources=None,
        incremental_fraction=0.01,
        notes="second run after 1% of prospects changed",
    ),
    "scale_250k": Scenario("scale_250k", prospects=250_000, peer=False, notes="memory as the account grows"),
    # Whole accounts (3 memberships per prospect, opens and clicks as the simulator makes them): peak RSS.
    "scale_150k": Scenario(
        "scale_150k",
        prospects=150_000,
        campaigns=40,
        resources=None,
        transform=True,
        notes="whole account, engagement tables built, against the peer",
    ),
    "scale_500k": whole_account("scale_500k", 500_000),
    "scale_1m": whole_account("scale_1m", 1_000_000),
}


@dataclass
class Run:
    """One measured client run."""

    client: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    requests: int
    rows: int
    checksum_ok: bool
    returncode: int
    extra: dict[str, Any] = field(default_factory=dict)


def run_client(client: str, sim: SimProcess, scenario: Scenario) -> Run:
    """One measured run (after an unmeasured full load for incremental scenarios)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{client}-") as tmp:
        workdir = Path(tmp)
        extra: dict[str, Any] = {}
        if scenario.incremental_fraction:
            _, _, _, code = measured(client_cmd(client, sim, scenario, workdir))
            if code != 0:
                raise RuntimeError(f"{client}: the initial full load failed")
            extra["changed"] = sim.ask("mutate", fraction=scenario.incremental_fraction)["changed"]
        sim.ask("reset")
        steps: dict[str, float] = {}
        wall, cpu, rss, code = measured(client_cmd(client, sim, scenario, workdir), steps=steps)
        if steps:  # the client announces its steps (ours): the tree's peak in each
            extra["peak_rss_mb_by_step"] = steps
        requests = sim.ask("requests")["requests"]
        truth = sim.ask("checksum")
        loaded = db_checksum(workdir / "db.duckdb", live_filter=client == "ours") if code == 0 else {}
        extra["load_average"] = list(os.getloadavg())
        return Run(client, wall, cpu, rss, requests, loaded.get("rows", 0), loaded == truth, code, extra)


def minimum_requests(scenario: Scenario, changed: int | None) -> int | None:
    """Fewest list requests the scenario can be done with (prospects-only scenarios)."""
    if scenario.resources != "prospects":
        return None
    return math.ceil(scenario.prospects / 1000) if changed is None else math.ceil(changed / 1000)


def summarise(runs: list[Run]) -> dict[str, float]:
    """Medians of the measured quantities."""
    return {
        "wall_s": statistics.median(r.wall_s for r in runs),
        "cpu_s": statistics.median(r.cpu_s for r in runs),
        "peak_rss_mb": statistics.median(r.peak_rss_mb for r in runs),
        "requests": statistics.median(r.requests for r in runs),
        "rows": statistics.median(r.rows for r in runs),
        "rows_per_s": statistics.median(r.rows / r.wall_s if r.wall_s else 0.0 for r in runs),
    }


def round_order(index: int) -> list[str]:
    """Who runs first in round `index` (from 0): ours and the peer take turns, so neither always runs on
    a machine the other has just warmed up or left busy."""
    return ["ours", "peer"] if index % 2 == 0 else ["peer", "ours"]


def run_scenario(scenario: Scenario, repeat: int, with_peer: bool) -> dict[str, Any]:
    """Alternate ours and the peer `repeat` times on one simulator process."""
    sim = SimProcess(scenario)
    print(f"[{scenario.name}] simulator ready in {sim.info['generate_s']:.1f} s", file=sys.stderr)
    runs: dict[str, list[Run]] = {"ours": [], "peer": []}
    try:
        for i in range(repeat):
            for client in round_order(i):
                if client == "peer" and not (with_peer and scenario.peer):
                    continue
                run = run_client(client, sim, scenario)
                runs[client].append(run)
                print(
                    f"[{scenario.name}] run {i + 1}/{repeat} {client}: {run.wall_s:.1f} s, "
                    f"{run.cpu_s:.1f} CPU-s, {run.requests} requests, {run.peak_rss_mb:.0f} MB, "
                    f"checksum {'ok' if run.checksum_ok else 'MISMATCH'} (load average {_load_average()})",
                    file=sys.stderr,
                )
    finally:
        sim.close()
    result: dict[str, Any] = {
        "scenario": asdict(scenario),
        "simulator_generate_s": sim.info["generate_s"],
        "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
        "median": {k: summarise(v) for k, v in runs.items() if v},
        "min_requests": minimum_requests(scenario, None),
    }
    if runs["ours"] and runs["peer"]:
        result["ratio"] = ratio(result["median"]["ours"], result["median"]["peer"])
        result["checksums_ok"] = all(r.checksum_ok for rs in runs.values() for r in rs)
        print(f"[{scenario.name}] {ratio_text(result['ratio'], repeat)}", file=sys.stderr)
    if scenario.latency_ms and runs["ours"]:
        ours = result["median"]["ours"]
        result["latency_floor_s"] = ours["requests"] * scenario.latency_ms / 1000
    return result


def ratio(ours: dict[str, float], peer: dict[str, float]) -> dict[str, float]:
    """How far ahead ours is, from the medians: prospects per second, wall time and CPU seconds."""
    return {
        "rows_per_s": ours["rows_per_s"] / peer["rows_per_s"] if peer["rows_per_s"] else math.inf,
        "wall": peer["wall_s"] / ours["wall_s"] if ours["wall_s"] else math.inf,
        "cpu": peer["cpu_s"] / ours["cpu_s"] if ours["cpu_s"] else math.inf,
    }


def ratio_text(value: dict[str, float], repeat: int) -> str:
    """One line: ours ÷ peer in prospects per second (the target's measure), wall and CPU."""
    runs = f"median of {repeat} alternating runs each" if repeat > 1 else "one run each"
    return (
        f"ours ÷ peer: {value['rows_per_s']:.1f}× the prospects per second ({runs}); "
        f"peer ÷ ours wall {value['wall']:.1f}×, CPU {value['cpu']:.1f}×"
    )


def _load_average() -> str:
    """The 1-, 5- and 15-minute load averages, for the record of a run on a shared machine."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def environment() -> dict[str, Any]:
    """Machine and package versions, for the record."""
    versions = {}
    for package in ("dlt", "duckdb", "pyarrow", "pandas", "orjson", "requests"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions,
    }


def main() -> None:
    """Run the selected scenarios and write the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--scenarios",
        default="full_1m,full_account,incremental_1pct,scale_150k,resume_after_kill,latency_bound,transforms",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply account sizes (quick trial runs)")
    args = parser.parse_args()
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    special = (TRANSFORMS, ACCOUNTS_PARALLEL, RESUME_AFTER_KILL, LATENCY_BOUND)
    unknown = [n for n in names if n not in SCENARIOS and n not in special]
    if unknown:
        choices = sorted([*SCENARIOS, *special])
        parser.error(f"unknown scenario(s) {unknown}; choose from {choices}")
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "environment": environment(),
        "scenarios": {},
    }
    for name in names:
        if name == TRANSFORMS:
            report["transforms"] = run_transforms(args.scale, args.repeat)
            continue
        if name == ACCOUNTS_PARALLEL:
            report[ACCOUNTS_PARALLEL] = accounts_bench.run(args.scale, args.repeat)
            continue
        if name in (RESUME_AFTER_KILL, LATENCY_BOUND):
            runner = (
                scale_bench.run_resume_after_kill
                if name == RESUME_AFTER_KILL
                else scale_bench.run_latency_bound
            )
            report[name] = runner(args.scale)
            continue
        scenario = SCENARIOS[name]
        if args.scale != 1.0:
            scenario = replace(scenario, prospects=max(1000, int(scenario.prospects * args.scale)))
        report["scenarios"][name] = run_scenario(scenario, args.repeat, not args.no_peer)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{report['started'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(markdown(report))
    print(f"\nwritten to {out}", file=sys.stderr)


TRANSFORMS = "transforms"
ACCOUNTS_PARALLEL = "accounts_parallel"
# Scenarios of `bench/scale_bench.py`.
RESUME_AFTER_KILL = "resume_after_kill"
LATENCY_BOUND = "latency_bound"


def run_transforms(scale: float, repeat: int) -> dict[str, Any]:
    """Rebuild of all engagement tables over 1M prospects / 3M memberships (`bench.transforms_bench`)."""
    cmd = [
        sys.executable,
        "-m",
        "bench.transforms_bench",
        f"--prospects={max(1000, int(1_000_000 * scale))}",
        f"--memberships={max(3000, int(3_000_000 * scale))}",
        f"--repeat={repeat}",
        "--json",
    ]
    print(f"[{TRANSFORMS}] {' '.join(cmd[2:])}", file=sys.stderr)
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    print(f"[{TRANSFORMS}] rebuild median {result['rebuild_median_seconds']} s", file=sys.stderr)
    return result


def markdown(report: dict[str, Any]) -> str:
    """A Markdown table of the medians: ours, peer and the ratio."""
    lines = [
        "| scenario | client | wall s | rows/s | CPU s | peak RSS MB | requests | min requests |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in report["scenarios"].items():
        for client, m in result["median"].items():
            lines.append(
                f"| {name} | {client} | {m['wall_s']:.1f} | {m['rows_per_s']:,.0f} | {m['cpu_s']:.1f} | "
                f"{m['peak_rss_mb']:.0f} | {m['requests']:.0f} | {result['min_requests'] or '-'} |"
            )
        if "ratio" in result:
            value = result["ratio"]
            lines.append(
                f"| {name} | ours ahead of peer | {value['wall']:.1f}× | {value['rows_per_s']:.1f}× | "
                f"{value['cpu']:.1f}× | | | |"
            )
    if ACCOUNTS_PARALLEL in report:
        result = report[ACCOUNTS_PARALLEL]
        walls = result["median_wall_s"]
        lines.append(
            f"\n8 accounts at {result['latency_ms']:.0f} ms/request: serial {walls['serial']} s, parallel "
            f"{walls['parallel']} s (column layout {walls['parallel_column']} s); slowest account alone "
            f"{result['slowest_alone_s']} s, all alone summed {result['sum_alone_s']} s"
        )
    for name in (RESUME_AFTER_KILL, LATENCY_BOUND):
        if name in report:
            from . import scale_bench

            lines.extend(scale_bench.markdown(name, report[name]))
    if TRANSFORMS in report:
        lines.append(
            f"\nRebuild of all engagement tables: {report[TRANSFORMS]['rebuild_seconds']} s (median)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
