"""First loads at scale: a load killed and resumed, and loads bound by the API's latency.

Scenarios of `make bench` (`bench/run.py` dispatches to them):

- ``resume_after_kill``: a whole-account first load, uninterrupted; then the same load killed (SIGKILL)
  once the simulator has served 80 % of the requests the uninterrupted one made, and one plain
  ``woodpecker-etl load`` after it. Reports the requests the two runs made beyond one uninterrupted load
  (target: at most 10 % of it) and checks the loaded prospects against the simulator's truth.
- ``latency_bound``: whole-account first loads of 20,000 and 100,000 prospects at 100 ms per request,
  each followed by a run that finds nothing new. Reports wall time against the API's own time
  (requests × latency): the first load's wall should stay within its API time plus the fixed cost of
  the no-change run plus 1 s, and the no-change run within its API time plus 3 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .harness import Scenario, SimProcess, client_cmd, db_checksum, measured

RESUME_AFTER_KILL = "resume_after_kill"
LATENCY_BOUND = "latency_bound"
KILL_SHARE = 0.8


def _ours(sim: SimProcess, scenario: Scenario, workdir: Path, transform: bool = False) -> list[str]:
    cmd = client_cmd("ours", sim, scenario, workdir)
    return [c for c in cmd if c != "--no-transform"] if transform else cmd


def _killed_after(cmd: list[str], sim: SimProcess, requests: int) -> tuple[int, float]:
    """Run `cmd`, SIGKILL it once the simulator has served `requests`; (requests served, seconds)."""
    sim.ask("reset")
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        if sim.ask("requests")["requests"] >= requests:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    return sim.ask("requests")["requests"], time.perf_counter() - started


def run_resume_after_kill(scale: float) -> dict[str, Any]:
    """The kill-and-resume scenario at `scale` × 150,000 prospects (40 campaigns, whole account)."""
    scenario = Scenario(
        RESUME_AFTER_KILL, prospects=max(1000, int(150_000 * scale)), campaigns=40, resources=None
    )
    sim = SimProcess(scenario)
    print(f"[{RESUME_AFTER_KILL}] simulator ready in {sim.info['generate_s']:.1f} s", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp:
            whole = Path(tmp) / "whole"
            sim.ask("reset")
            wall, _, rss, code = measured(_ours(sim, scenario, whole))
            full = sim.ask("requests")["requests"]
            if code != 0:
                raise RuntimeError(f"{RESUME_AFTER_KILL}: the uninterrupted load failed")
            workdir = Path(tmp) / "killed"
            killed, killed_s = _killed_after(_ours(sim, scenario, workdir), sim, int(KILL_SHARE * full))
            sim.ask("reset")
            resumed_wall, _, resumed_rss, code = measured(_ours(sim, scenario, workdir))
            resumed = sim.ask("requests")["requests"]
            truth = sim.ask("checksum")
            loaded = db_checksum(workdir / "db.duckdb", live_filter=True) if code == 0 else {}
    finally:
        sim.close()
    extra = killed + resumed - full
    result = {
        "scenario": {"prospects": scenario.prospects, "campaigns": scenario.campaigns},
        "uninterrupted": {"wall_s": wall, "requests": full, "peak_rss_mb": rss},
        "killed": {"after_requests": killed, "wall_s": killed_s},
        "resumed": {"wall_s": resumed_wall, "requests": resumed, "peak_rss_mb": resumed_rss},
        "extra_requests": extra,
        "extra_share": extra / full if full else None,
        "checksum_ok": loaded == truth,
    }
    print(markdown(RESUME_AFTER_KILL, result)[0].strip(), file=sys.stderr)
    return result


# The lines `woodpecker-etl load` prints as its steps start (stderr), and what each begins.
STEP_LINES = (
    ("→ Extracting", "chunks"),
    ("→ Applying reconciliation", "reconciliation"),
    ("→ Building engagement tables", "engagement_tables"),
    ("Loaded Woodpecker", "summary"),
)


def _stamped(cmd: list[str]) -> tuple[float, float, float, int, dict[str, float]]:
    """Like `harness.measured`, and also when the run's steps began: seconds from the start, by step.

    `chunks` is the first extraction (start-up ends there): the chunks' requests, normalise and load steps
    run between it and `reconciliation`; `summary` is when the summary began, after the models.
    """
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    steps: dict[str, float] = {}
    tail: list[str] = []
    for line in proc.stdout:
        tail = [*tail[-20:], line]
        for prefix, step in STEP_LINES:
            if line.strip().startswith(prefix) and step not in steps:
                steps[step] = time.perf_counter() - started
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write("".join(tail))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code, steps


def _step_seconds(steps: dict[str, float], wall: float) -> dict[str, float]:
    """Seconds per part of a run from `_stamped`'s step starts (a part whose step did not run: 0)."""
    marks = [steps.get(step) for _, step in STEP_LINES]
    points = [0.0, *(m for m in marks if m is not None), wall]
    named = ["start_up", *(step for (_, step), m in zip(STEP_LINES, marks, strict=True) if m is not None)]
    return {name: round(b - a, 2) for name, a, b in zip(named, points, points[1:], strict=False)}


def run_latency_bound(scale: float, latency_ms: float = 100.0) -> dict[str, Any]:
    """First load and no-change run of 20k and 100k prospects (× `scale`) at `latency_ms` per request."""
    results: dict[str, Any] = {}
    for prospects in (20_000, 100_000):
        scenario = Scenario(
            LATENCY_BOUND,
            prospects=max(1000, int(prospects * scale)),
            campaigns=10,
            resources=None,
            latency_ms=latency_ms,
        )
        sim = SimProcess(scenario)
        try:
            with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
                workdir = Path(tmp)
                runs: dict[str, dict[str, Any]] = {}
                for label in ("first", "no_change"):
                    sim.ask("reset")
                    load_average = os.getloadavg()[0]
                    wall, cpu, rss, code, steps = _stamped(_ours(sim, scenario, workdir, transform=True))
                    if code != 0:
                        raise RuntimeError(f"{LATENCY_BOUND}: the {label} load failed")
                    requests = sim.ask("requests")["requests"]
                    api_s = requests * latency_ms / 1000
                    runs[label] = {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss, "requests": requests}
                    runs[label]["api_s"] = api_s
                    runs[label]["load_average"] = load_average
                    runs[label]["steps_s"] = _step_seconds(steps, wall)
        finally:
            sim.close()
        fixed = runs["no_change"]["wall_s"] - runs["no_change"]["api_s"]
        first = runs["first"]
        verdict = {
            "first_bound_s": first["api_s"] + fixed + 1.0,
            "first_ok": first["wall_s"] <= first["api_s"] + fixed + 1.0,
            "no_change_ok": runs["no_change"]["wall_s"] <= runs["no_change"]["api_s"] + 3.0,
        }
        results[str(scenario.prospects)] = {**runs, **verdict, "no_change_fixed_s": fixed}
        print(
            f"[{LATENCY_BOUND}] {scenario.prospects:,}: first {first['wall_s']:.1f} s for "
            f"{first['api_s']:.1f} s of API time; no change {runs['no_change']['wall_s']:.1f} s for "
            f"{runs['no_change']['api_s']:.1f} s",
            file=sys.stderr,
        )
    return {"latency_ms": latency_ms, "sizes": results}


def markdown(name: str, result: dict[str, Any]) -> list[str]:
    """Lines of the report for one of this module's scenarios."""
    if name == RESUME_AFTER_KILL:
        share = 100 * (result["extra_share"] or 0)
        checked = "ok" if result["checksum_ok"] else "MISMATCH"
        return [
            f"\n{RESUME_AFTER_KILL}: {result['scenario']['prospects']:,} prospects, uninterrupted load "
            f"{result['uninterrupted']['requests']} requests in {result['uninterrupted']['wall_s']:.1f} s; "
            f"killed after {result['killed']['after_requests']}, resumed with "
            f"{result['resumed']['requests']} in {result['resumed']['wall_s']:.1f} s: "
            f"{result['extra_requests']} more ({share:.1f} %), checksum {checked}"
        ]
    lines = [
        f"\n{LATENCY_BOUND} ({result['latency_ms']:.0f} ms/request):\n",
        "| prospects | run | wall s | API s | requests | CPU s | load avg | within target | steps s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r in result["sizes"].items():
        for label, name, ok, bound in (
            ("first", "first", r["first_ok"], r["first_bound_s"]),
            ("no_change", "no change", r["no_change_ok"], r["no_change"]["api_s"] + 3.0),
        ):
            run = r[label]
            steps = ", ".join(f"{k} {v:.1f}" for k, v in (run.get("steps_s") or {}).items())
            lines.append(
                f"| {size} | {name} | {run['wall_s']:.1f} | {run['api_s']:.1f} | {run['requests']} | "
                f"{run['cpu_s']:.1f} | {run.get('load_average', 0):.1f} | {ok} (≤ {bound:.1f}) | {steps} |"
            )
    return lines
