"""Time the engagement dashboard on a large account: export, file size, first render, filter changes.

The account is the synthetic one of `bench.transforms_bench` (by default 1,000,000 prospects and
3,000,000 memberships in 1,000 campaigns), generated and built into a DuckDB file, or an existing
file given with `--database` (e.g. one kept by `python -m bench.transforms_bench --database PATH`).
Measured, as medians of `--repeat` runs:

- export: `woodpecker-etl dashboard --export` in this process (query the marts, render, write), and the
  exported file's size;
- first full render in headless Chromium (navigation start to every panel drawn) of the exported file
  and of the live app (`woodpecker-etl dashboard`, a separate process, page built per request);
- a filter change in the browser: from the user's action to every panel redrawn, measured in the page
  (`performance.now()` around the recomputation and the charts' redraw), and from Playwright's side.

Usage:
    python -m bench.dashboard_bench --database /tmp/bench.duckdb
    python -m bench.dashboard_bench --prospects 100000 --memberships 300000 --campaigns 100 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from pipelines.dashboard.charts_bundle import vega_bundle
from pipelines.dashboard.export import export
from pipelines.dashboard.marts import MartSource
from transforms.build import build_models

from .transforms_bench import DATASET, generate

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next(
    (p for p in ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium") if Path(p).is_file()), ""
)
QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def prepare(args: argparse.Namespace, folder: Path) -> Path:
    """The database to measure: the one given, or a generated and built one."""
    if args.database:
        return Path(args.database)
    path = folder / "bench.duckdb"
    with duckdb.connect(str(path)) as con:
        generate(con, args.prospects, args.memberships, args.campaigns)
        build_models(con, DATASET)
    return path


def first_render(page: Any, url: str) -> float:
    """Seconds from navigation to the page's first complete render."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
    return time.perf_counter() - started


def filter_change(page: Any, action: Any) -> tuple[float, float]:
    """(in-page ms, Playwright-side ms) of one filter change."""
    before = int(page.evaluate("document.body.dataset.renders"))
    started = time.perf_counter()
    action()
    page.wait_for_function(f"Number(document.body.dataset.renders) > {before}", timeout=60_000)
    outside = (time.perf_counter() - started) * 1000
    return float(page.evaluate("document.body.dataset.renderMs")), outside


def measure(database: Path, repeat: int, folder: Path) -> dict[str, Any]:
    """Every measurement over one database."""
    from playwright.sync_api import sync_playwright

    source = MartSource(duckdb_path=str(database))
    vega_bundle()  # the bundle cache is warm in normal use
    html = folder / "dashboard.html"
    exports = [export(source, html)[2] for _ in range(repeat)]
    size = html.stat().st_size
    with duckdb.connect(str(database), read_only=True) as con:
        ids = [r[0] for r in con.execute(
            "SELECT campaign_id FROM woodpecker.campaign_performance ORDER BY replied DESC LIMIT 10"
        ).fetchall()]  # fmt: skip
        memberships = con.execute("SELECT COUNT(*) FROM woodpecker.campaign_prospect_engagement").fetchone()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "dashboard", "--port", "0", "--duckdb-path", str(database)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[2]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            file_renders = [first_render(page, html.as_uri()) for _ in range(repeat)]
            live_renders = [first_render(page, url) for _ in range(repeat)]
            page.goto(html.as_uri())
            page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
            actions = {
                "10 campaigns": lambda: page.select_option("#f-campaign", [str(i) for i in ids]),
                "clear filters": lambda: page.click("#f-clear"),
                "last 30 days": lambda: page.click("#presets button[data-days='30']"),
                "status RUNNING": lambda: page.select_option("#f-status", ["RUNNING"]),
                "daily grain": lambda: page.select_option("#f-grain", "day"),
                "all time, weekly": lambda: (page.click("#f-clear"), page.select_option("#f-grain", "week")),
            }
            filters: dict[str, dict[str, list[float]]] = {}
            for _ in range(repeat):
                for name, action in actions.items():
                    inside, outside = filter_change(page, action)
                    entry = filters.setdefault(name, {"in_page_ms": [], "playwright_ms": []})
                    entry["in_page_ms"].append(inside)
                    entry["playwright_ms"].append(outside)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "memberships": int(memberships[0]) if memberships else 0,
        "export_seconds": _median(exports),
        "export_seconds_runs": [round(s, 3) for s in exports],
        "file_bytes": size,
        "first_render_file_seconds": _median(file_renders),
        "first_render_live_seconds": _median(live_renders),
        "filter_change_ms": {
            name: {k: _median(v) for k, v in values.items()} for name, values in filters.items()
        },
        "repeat": repeat,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="an existing DuckDB file with the marts built")
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--memberships", type=int, default=3_000_000)
    parser.add_argument("--campaigns", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not CHROMIUM:
        parser.error("no Chromium: apt-get install chromium-headless-shell")
    with tempfile.TemporaryDirectory(prefix="wp-dashboard-bench-") as folder:
        try:
            result = measure(prepare(args, Path(folder)), args.repeat, Path(folder))
        except ValueError as exc:
            parser.error(str(exc))
    print(json.dumps(result, indent=2 if args.json else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
