"""Scenario `accounts_parallel`: 8 accounts with API latency, loaded one after another and side by side.

Eight simulator processes (different seeds, sizes and keys, 100 ms per request) stand for eight client
accounts of an agency. Each account is first loaded alone (its own time); then all eight with
`woodpecker-etl load --accounts all --workers 1` (serial) and `--workers 8` (parallel), each into a
fresh DuckDB file. Every run's per-account prospect counts and checksums are compared with the truth.

    python -m bench.accounts_bench --latency-ms 250    # result also under bench/results/
    python -m bench.run --scenarios accounts_parallel  # 100 ms, with the other scenarios' report
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from .harness import RESULTS, Scenario, SimProcess, measured

ACCOUNTS = 8
LATENCY_MS = 100.0


def account_scenarios(scale: float = 1.0, latency_ms: float = LATENCY_MS) -> dict[str, Scenario]:
    """Eight accounts of different sizes: 1,000 to 8,000 prospects (times `scale`), 4 to 11 campaigns."""
    return {
        f"client{i + 1}": Scenario(
            f"client{i + 1}",
            prospects=max(100, int(1000 * (i + 1) * scale)),
            campaigns=4 + i,
            latency_ms=latency_ms,
            resources=None,
        )
        for i in range(ACCOUNTS)
    }


def start_simulators(scenarios: dict[str, Scenario]) -> dict[str, SimProcess]:
    """One simulator process per account, each with its own seed and key."""
    sims = {}
    for n, (name, scenario) in enumerate(scenarios.items()):
        sims[name] = SimProcess(scenario, seed=100 + n, api_key=f"{name}-key")
    return sims


def account_env(sims: dict[str, SimProcess]) -> dict[str, str]:
    """The `[accounts.<name>]` configuration as environment variables."""
    env = {}
    for name, sim in sims.items():
        env[f"ACCOUNTS__{name.upper()}__API_KEY"] = sim.info["api_key"]
        env[f"ACCOUNTS__{name.upper()}__BASE_URL"] = sim.info["base_url"]
    return env


def loaded_prospects(path: Path, name: str, layout: str) -> dict[str, int]:
    """Live prospects of one account: count and id sum."""
    table, where = (
        (f"woodpecker_{name}.prospects", "")
        if layout == "dataset"
        else ("woodpecker.prospects", f" AND account_id = '{name}'")
    )
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.sql(
            f"SELECT COUNT(*), COALESCE(SUM(id), 0) FROM {table} WHERE deleted_at IS NULL{where}"
        ).fetchone()
    assert row is not None
    return {"rows": int(row[0]), "id_sum": int(row[1])}


def load(
    sims: dict[str, SimProcess],
    accounts: list[str],
    workers: int,
    layout: str = "dataset",
    latency_ms: float = LATENCY_MS,
) -> dict[str, Any]:
    """One measured `load --accounts` into a fresh DuckDB file, checked against every account's truth."""
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
        workdir = Path(tmp)
        cmd = [
            sys.executable,
            "-m",
            "pipelines.cli",
            "load",
            "--accounts",
            ",".join(accounts),
            "--workers",
            str(workers),
            "--account-layout",
            layout,
            "--no-transform",
            "--duckdb-path",
            str(workdir / "agency.duckdb"),
            "--pipelines-dir",
            str(workdir / "pipelines"),
            "--summary-json",
            str(workdir / "summary.json"),
        ]
        for name in accounts:
            sims[name].ask("reset")
        os.environ.update(account_env(sims))
        wall, cpu, rss, code = measured(cmd)
        summary = json.loads((workdir / "summary.json").read_text()) if code == 0 else {}
        checks = {}
        for name in accounts:
            truth = sims[name].ask("checksum")
            got = loaded_prospects(workdir / "agency.duckdb", name, layout) if code == 0 else {}
            checks[name] = got == {"rows": truth["rows"], "id_sum": truth["id_sum"]}
        requests = {name: sims[name].ask("requests")["requests"] for name in accounts}
    return {
        "accounts": accounts,
        "workers": workers,
        "layout": layout,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(rss, 1),
        "exit_code": code,
        "requests": requests,
        "latency_floor_s": {n: round(r * latency_ms / 1000, 2) for n, r in requests.items()},
        "per_account_s": {n: a["seconds"] for n, a in summary.get("accounts", {}).items()},
        "retries": {n: a["retries"] for n, a in summary.get("accounts", {}).items()},
        "throttled": {n: a["throttled"] for n, a in summary.get("accounts", {}).items()},
        "checksums_ok": all(checks.values()),
    }


def run(scale: float = 1.0, repeat: int = 1, latency_ms: float = LATENCY_MS) -> dict[str, Any]:
    """The whole scenario; returns a JSON-ready result."""
    scenarios = account_scenarios(scale, latency_ms)
    started = time.perf_counter()
    sims = start_simulators(scenarios)
    ready = time.perf_counter() - started
    print(f"[accounts_parallel] {ACCOUNTS} simulators ready in {ready:.1f} s", file=sys.stderr)
    names = list(scenarios)
    try:
        alone = {}
        for name in names:
            alone[name] = load(sims, [name], 1, latency_ms=latency_ms)
            print(f"[accounts_parallel] {name} alone: {alone[name]['wall_s']} s", file=sys.stderr)
        runs: dict[str, list[dict[str, Any]]] = {"serial": [], "parallel": [], "parallel_column": []}
        for _ in range(repeat):
            runs["serial"].append(load(sims, names, 1, latency_ms=latency_ms))
            runs["parallel"].append(load(sims, names, ACCOUNTS, latency_ms=latency_ms))
            runs["parallel_column"].append(load(sims, names, ACCOUNTS, "column", latency_ms))
            for kind, measured_runs in runs.items():
                print(f"[accounts_parallel] {kind}: {measured_runs[-1]['wall_s']} s", file=sys.stderr)
    finally:
        for sim in sims.values():
            sim.close()
    medians = {kind: statistics.median(r["wall_s"] for r in rs) for kind, rs in runs.items()}
    slowest = max(alone.values(), key=lambda r: r["wall_s"])
    return {
        "scenario": "accounts_parallel",
        "latency_ms": latency_ms,
        "accounts": {n: {"prospects": s.prospects, "campaigns": s.campaigns} for n, s in scenarios.items()},
        "alone": alone,
        "runs": runs,
        "median_wall_s": medians,
        "sum_alone_s": round(sum(r["wall_s"] for r in alone.values()), 2),
        "slowest_alone_s": slowest["wall_s"],
        "speedup_parallel_vs_serial": round(medians["serial"] / medians["parallel"], 2),
        "parallel_over_slowest": round(medians["parallel"] / slowest["wall_s"], 2),
        "checksums_ok": all(r["checksums_ok"] for rs in [list(alone.values()), *runs.values()] for r in rs),
    }


def main() -> None:
    """Run the scenario; print the result (JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the account sizes")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS, help="API latency per request")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(args.scale, args.repeat, args.latency_ms)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())}-accounts.json"
    out.write_text(json.dumps({"accounts_parallel": result}, indent=2))
    m = result["median_wall_s"]
    print(
        f"8 accounts: serial {m['serial']} s, parallel {m['parallel']} s "
        f"(column layout {m['parallel_column']} s); slowest alone {result['slowest_alone_s']} s, "
        f"sum alone {result['sum_alone_s']} s; checksums {'ok' if result['checksums_ok'] else 'MISMATCH'}"
    )


if __name__ == "__main__":
    main()
