"""`python -m simulator.measure`: how fast the simulator generates an account and serves it.

The account is generated in this process and served on a loopback port; a separate client process
pages through `GET /rest/v1/prospects` with `per_page=1000` and reads each body without parsing it, so
the numbers are the simulator's, not a client's. Prints one line per measurement and, with `--json`,
the same as JSON.

Usage:
    python -m simulator.measure                                   # 200,000 prospects
    python -m simulator.measure --prospects 1000000 --avg-memberships 3 --campaigns 200
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import resource
import time
from typing import Any

from . import Simulator, SimulatorConfig

PER_PAGE = 1000


def _scan(port: int, api_key: str, query: str, out: Any) -> None:
    """Page through one query with one keep-alive connection; report (rows, bytes, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"x-api-key": api_key}
    started = time.perf_counter()
    rows = size = 0
    page = 1
    while True:
        conn.request("GET", f"/rest/v1/prospects?per_page={PER_PAGE}&page={page}{query}", headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"HTTP {answer.status}: {body[:200]!r}")
        total = int(answer.headers.get("X-Total-Count", "0"))
        size += len(body)
        rows = min(total, page * PER_PAGE)
        if page * PER_PAGE >= total:
            break
        page += 1
    out.send((rows, size, time.perf_counter() - started))
    conn.close()


def _rss_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def timed_scan(sim: Simulator, query: str = "") -> dict[str, float]:
    """Scan all pages of a query from a child process; rows per second as the client saw them."""
    port = int(sim.base_url.rsplit(":", 1)[1])
    # A spawned (not forked) client: a fork would share the account's pages copy-on-write, and every
    # reference count the server then touches would copy a page, which is the client's cost, not ours.
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_scan, args=(port, sim.api_key, query, send))
    child.start()
    rows, size, seconds = receive.recv()
    child.join()
    return {
        "rows": rows,
        "mb": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "rows_per_s": rows / seconds,
    }


def main() -> None:
    """Parse the options, generate, scan, and print the measurements."""
    parser = argparse.ArgumentParser(prog="python -m simulator.measure", description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=200_000)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--avg-memberships", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()

    config = SimulatorConfig(
        seed=args.seed,
        prospects=args.prospects,
        campaigns=args.campaigns,
        avg_memberships=args.avg_memberships,
    )
    started = time.perf_counter()
    sim = Simulator(config)
    generation = time.perf_counter() - started
    account = sim.account
    results: dict[str, Any] = {
        "prospects": len(account.prospects),
        "campaigns": len(account.campaigns),
        "memberships": len(account.memberships),
        "events": len(account.events),
        "generation_s": round(generation, 2),
    }
    results["rss_after_generation_mb"] = _rss_mb()
    print(
        f"generated {results['prospects']:,} prospects, {results['memberships']:,} memberships, "
        f"{results['events']:,} events in {generation:.1f} s"
    )
    with sim:
        for name, query in (
            ("first_scan", ""),
            ("cached_scan", ""),
            ("updated_scan", "&sort=%2Bupdated&diff=updated%3E2000-01-01T00%3A00%3A00%2B0000"),
            ("membership_scan", "&campaigns_id=" + "%2C".join(str(c) for c in sorted(account.campaigns))),
        ):
            results[name] = timed_scan(sim, query)
            r = results[name]
            r["rss_mb"] = _rss_mb()
            print(
                f"{name:13} {r['rows']:>9,} rows  {r['mb']:>7} MB  {r['seconds']:>6} s  "
                f"{r['rows_per_s']:>9,.0f} rows/s  RSS {r['rss_mb']:,} MB"
            )
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"simulator peak RSS {results['peak_rss_mb']:,} MB")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
