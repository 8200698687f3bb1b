"""Where a whole-account first load's memory goes: peak RSS of the client's process tree per step.

``python -m bench.memory_probe`` starts the simulator in its own process (50,000 prospects, 40 campaigns
by default), runs ``woodpecker-etl load`` (all resources, engagement tables built) into a fresh
directory, samples the client's process tree every 50 ms and prints its peak per step, the step being
the last ``  → …`` line the client printed. ``--env NAME=VALUE`` runs the client with a setting changed,
``--repeat`` runs it again (alternating with ``--vs-env`` when given), for quick A/B trials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .harness import Scenario, SimProcess, client_cmd, db_checksum, measured


def probe(sim: SimProcess, scenario: Scenario, env: dict[str, str]) -> dict[str, Any]:
    """One measured load with `env` added to the client's environment."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        workdir = Path(tmp)
        sim.ask("reset")
        steps: dict[str, float] = {}
        wall, cpu, peak, code = measured(
            client_cmd("ours", sim, scenario, workdir), env=dict(os.environ, **env), steps=steps
        )
        truth = sim.ask("checksum")
        ok = code == 0 and db_checksum(workdir / "db.duckdb", live_filter=True) == truth
    return {
        "env": env,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_mb": round(peak, 1),
        "checksum_ok": ok,
        "steps": steps,
    }


def _env(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def main() -> None:
    """Parse the arguments, run the probes, print one table per run and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--prospects", type=int, default=50_000)
    parser.add_argument("--campaigns", type=int, default=40)
    parser.add_argument("--no-transform", action="store_true", help="leave the engagement tables out")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the client (A)")
    parser.add_argument("--vs-env", action="append", default=None, help="NAME=VALUE for a second client (B)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    scenario = Scenario(
        "memory_probe",
        prospects=args.prospects,
        campaigns=args.campaigns,
        resources=None,
        transform=not args.no_transform,
    )
    variants = [_env(args.env)] + ([_env(args.vs_env)] if args.vs_env is not None else [])
    sim = SimProcess(scenario)
    results = []
    try:
        for _ in range(args.repeat):
            for env in variants:
                result = probe(sim, scenario, env)
                results.append(result)
                print(
                    f"\nenv {env or '(defaults)'}: peak {result['peak_mb']} MB, wall {result['wall_s']} s, "
                    f"CPU {result['cpu_s']} s, checksum {'ok' if result['checksum_ok'] else 'MISMATCH'}"
                )
                print("| step | peak RSS of the process tree, MB |\n|---|---|")
                for step, mb in result["steps"].items():
                    print(f"| {step} | {mb:.0f} |")
                sys.stdout.flush()
    finally:
        sim.close()
    print(json.dumps(results), file=sys.stderr)


if __name__ == "__main__":
    main()
