"""The simulator in its own process, steered over stdin/stdout with one JSON object per line.

The benchmark runs the API and the connector in separate processes so that each one's CPU and memory
are measured apart. Commands: ``info``, ``requests`` (count since the last ``reset``), ``reset``,
``mutate`` (edit a fraction of the prospects), ``checksum`` (of the live prospects) and ``quit``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

from simulator import DEFAULT_API_KEY, Simulator, SimulatorConfig


def checksum(sim: Simulator) -> dict[str, int]:
    """Row count, id sum and `updated` epoch sum of the live prospects."""
    prospects = sim.truth().prospects
    updated = prospects["updated"].dropna()
    return {
        "rows": len(prospects),
        "id_sum": int(prospects["id"].sum()),
        "updated_sum": int(sum(int(ts.timestamp()) for ts in updated)),
    }


def mutate(sim: Simulator, fraction: float, seed: int) -> int:
    """Edit `fraction` of the prospects one minute later on the virtual clock; returns the count."""
    ids = [int(i) for i in sim.truth().prospects["id"]]
    chosen = random.Random(seed).sample(ids, max(1, round(len(ids) * fraction)))
    sim.clock.advance(60)
    for n, prospect_id in enumerate(chosen):
        sim.account.edit_prospect(prospect_id, title=f"Changed {seed}-{n}")
    return len(chosen)


def serve(config: SimulatorConfig) -> None:
    """Start the simulator and answer commands until `quit`."""
    started = time.perf_counter()
    with Simulator(config) as sim:
        generated = time.perf_counter() - started
        base = 0
        mutations = 0

        def answer(payload: dict[str, Any]) -> None:
            print(json.dumps(payload), flush=True)

        answer({"ready": True, "base_url": sim.base_url, "api_key": sim.api_key, "generate_s": generated})
        for line in sys.stdin:
            command = json.loads(line)
            name = command.get("cmd")
            if name == "requests":
                answer({"requests": len(sim.requests) - base})
            elif name == "reset":
                base = len(sim.requests)
                answer({"ok": True})
            elif name == "mutate":
                mutations += 1
                answer({"changed": mutate(sim, float(command["fraction"]), seed=mutations)})
            elif name == "checksum":
                answer(checksum(sim))
            elif name == "quit":
                answer({"ok": True})
                return
            else:
                answer({"error": f"unknown command {name}"})


def main() -> None:
    """Parse the simulator settings and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prospects", type=int, required=True)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--avg-memberships", type=float, default=3.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    args = parser.parse_args()
    serve(
        SimulatorConfig(
            seed=args.seed,
            prospects=args.prospects,
            campaigns=args.campaigns,
            avg_memberships=args.avg_memberships,
            latency_s=args.latency_ms / 1000.0,
            api_key=args.api_key,
        )
    )


if __name__ == "__main__":
    main()
