"""Time a full rebuild of the engagement models on a large synthetic account in DuckDB.

The raw tables are generated directly in DuckDB with `generate_series` (no API, no dlt), shaped like
the source's tables (docs/tables.md): by default 1,000,000 prospects, 3,000,000 campaign memberships,
1,000 campaigns with 3 steps of 2 versions each, two stats snapshots per campaign, about 1,350,000
observed opens and 300,000 observed clicks, with a sprinkle of deleted rows. Every prospect is in three
campaigns unless `--single-campaign-share` puts that share of them in exactly one (the others then
share the remaining memberships), which gives the per-membership send and reply times something to
attribute. It also times a plain copy of the membership table as a yardstick of the machine's write
speed, to compare runs.
After a first build it rebuilds three times over the published tables and prints the median time per
model, of the publishing transaction and of the whole rebuild, with the CPU time the rebuild used (all
threads; steadier than the wall time when other work shares the machine).

Usage:
    python -m bench.transforms_bench                       # defaults, temporary database file
    python -m bench.transforms_bench --prospects 100000 --memberships 300000 --json
    python -m bench.transforms_bench --single-campaign-share 0.5
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

from transforms.build import build_models

DATASET = "woodpecker"
EPOCH = "TIMESTAMPTZ '2025-01-01 00:00:00+00'"


def generate(
    con: duckdb.DuckDBPyConnection,
    prospects: int,
    memberships: int,
    campaigns: int,
    single_share: float = 0.0,
) -> dict[str, int]:
    """Create and fill the raw tables; return their row counts.

    `single_share` of the prospects are enrolled in exactly one campaign, the others share the rest of
    the memberships evenly (0: every prospect in memberships / prospects campaigns).
    """
    p, m, c = prospects, memberships, campaigns
    single = int(p * single_share)
    if not 0 <= single < p or m - single < p - single:
        raise ValueError(
            "--single-campaign-share must be at least 0 and below 1, and --memberships at least --prospects"
        )
    multi = p - single
    statuses = "['ACTIVE','ACTIVE','ACTIVE','REPLIED','BOUNCED','INVALID','BLACKLIST']"
    local = (
        "['ACTIVE','ACTIVE','ACTIVE','ACTIVE','REPLIED','AUTOREPLIED','BOUNCED','INVALID','OPT_OUT','PAUSED']"
    )
    interest = "['NOT_MARKED','NOT_MARKED','NOT_MARKED','INTERESTED','MAYBE_LATER','NOT_INTERESTED']"
    statements = [
        f'CREATE SCHEMA IF NOT EXISTS "{DATASET}"',
        f"""CREATE OR REPLACE TABLE {DATASET}.prospects AS
        SELECT i AS id,
               'p' || i || '@d' || (i % 50000) || '.example' AS email,
               'First' || i AS first_name, 'Last' || i AS last_name,
               'Company ' || (i % 50000) AS company, 'Industry' AS industry, NULL::VARCHAR AS website,
               'Title' AS title, 'PL' AS country, '#TAG' AS tags, i % 50000 AS organization_id,
               {statuses}[1 + i % 7] AS status,
               CASE WHEN i % 4 <> 0 THEN {EPOCH} + INTERVAL (i % 7776000) SECOND END AS last_contacted,
               CASE WHEN i % 7 = 3 THEN {EPOCH} + INTERVAL (i % 7776000 + 3600) SECOND END AS last_replied,
               {EPOCH} + INTERVAL (i % 7776000) SECOND AS updated,
               CASE WHEN i % 997 = 0 THEN {EPOCH} END AS deleted_at,
               {EPOCH} AS _fetched_at
        FROM generate_series(1, {p}) AS t(i)""",
        f"""CREATE OR REPLACE TABLE {DATASET}.campaigns AS
        SELECT i AS id, 'Campaign ' || i AS name, 'RUNNING' AS status, {EPOCH} AS created,
               i % 10 AS folder_id, 'Folder ' || (i % 10) AS folder_name, 'sender@example.com' AS from_email,
               100 AS per_day, 50 AS daily_enroll, 'Europe/Warsaw' AS timezone, 'OK' AS details_status,
               CASE WHEN i % 101 = 0 THEN {EPOCH} END AS deleted_at, {EPOCH} AS _fetched_at
        FROM generate_series(1, {c}) AS t(i)""",
        # memberships: the first `single` rows enrol one prospect each; after them round r puts each of
        # the other prospects in a different campaign per round
        f"""CREATE OR REPLACE TABLE {DATASET}.campaign_prospects AS
        SELECT 1 + (k * 7 + r * 331) % {c} AS campaign_id, 1 + k AS prospect_id,
               {local}[1 + (i * 7) % 10] AS status,
               (i * 3) % 4 AS sent_mails,
               {interest}[1 + (i * 5) % 6] AS interested,
               'sender@example.com' AS campaign_email,
               CASE WHEN i % 1009 = 0 THEN {EPOCH} END AS deleted_at, {EPOCH} AS _fetched_at
        FROM (
            SELECT i,
                   CASE WHEN i < {single} THEN i ELSE {single} + (i - {single}) % {multi} END AS k,
                   CASE WHEN i < {single} THEN 0 ELSE (i - {single}) // {multi} END AS r
            FROM generate_series(0, {m - 1}) AS t(i)
        ) AS rows""",
        f"""CREATE OR REPLACE TABLE {DATASET}.prospect_opens AS
        SELECT prospect_id, campaign_id, {EPOCH} + INTERVAL ((prospect_id * 13 + k * 86400) % 7776000) SECOND
               AS opened_at, {EPOCH} AS _fetched_at
        FROM {DATASET}.campaign_prospects, generate_series(0, 1) AS s(k)
        WHERE sent_mails > 0 AND (prospect_id + campaign_id) % 5 < 1 + k""",
        f"""CREATE OR REPLACE TABLE {DATASET}.prospect_clicks AS
        SELECT prospect_id, campaign_id, 'https://example.com/' || (prospect_id % 3) AS url,
               {EPOCH} + INTERVAL ((prospect_id * 17) % 7776000) SECOND AS clicked_at, {EPOCH} AS _fetched_at
        FROM {DATASET}.campaign_prospects
        WHERE sent_mails > 0 AND (prospect_id + campaign_id) % 10 = 0""",
        f"""CREATE OR REPLACE TABLE {DATASET}.campaign_stats AS
        SELECT i AS campaign_id, {EPOCH} + INTERVAL (k) DAY AS captured_at,
               3000 AS prospects, 4000 AS sent, 3900 AS delivery, 900 AS opened, 300 AS clicked,
               200 AS replied, 50 AS autoreplied, 100 AS bounced, 30 AS invalid, 20 AS optout,
               40 AS interested, 30 AS not_interested, 20 AS maybe_later, 10 AS queue, 0 AS to_check,
               {EPOCH} AS _fetched_at
        FROM generate_series(1, {c}) AS t(i), generate_series(0, 1) AS s(k)""",
        f"""CREATE OR REPLACE TABLE {DATASET}.campaign_steps AS
        SELECT i AS campaign_id, 'step-' || i || '-' || n AS step_id, n AS step_number, 'EMAIL' AS type,
               'DAY' AS followup_after_range, 2 AS followup_after_value,
               CASE WHEN n = 1 THEN 0 ELSE 48 END AS wait_hours, 'MON,TUE,WED,THU,FRI' AS sending_days,
               2 AS version_count, {EPOCH} AS _fetched_at
        FROM generate_series(1, {c}) AS t(i), generate_series(1, 3) AS s(n)""",
        f"""CREATE OR REPLACE TABLE {DATASET}.campaign_step_versions AS
        SELECT campaign_id, step_id, step_number, step_id || '-' || v AS version_id, v AS version,
               CASE WHEN step_number = 1 THEN 'Subject ' || v END AS subject, 'SENDER' AS signature,
               TRUE AS track_opens, {EPOCH} AS _fetched_at
        FROM {DATASET}.campaign_steps, (VALUES ('A'), ('B')) AS s(v)""",
    ]
    for sql in statements:
        con.execute(sql)
    tables = ("prospects", "campaigns", "campaign_prospects", "prospect_opens", "prospect_clicks",
              "campaign_stats", "campaign_steps", "campaign_step_versions")  # fmt: skip
    return {t: int(con.execute(f"SELECT COUNT(*) FROM {DATASET}.{t}").fetchone()[0]) for t in tables}  # type: ignore[index]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate, build once (first build), then rebuild `--repeat` times over the published tables."""
    folder = Path(args.database).parent if args.database else Path(tempfile.mkdtemp(prefix="wp-bench-"))
    path = Path(args.database) if args.database else folder / "bench.duckdb"
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        if args.threads:
            con.execute(f"SET threads = {int(args.threads)}")
        started = time.perf_counter()
        raw = generate(con, args.prospects, args.memberships, args.campaigns, args.single_campaign_share)
        generated = time.perf_counter() - started
        # machine yardstick: write the raw membership table once more (no joins, no aggregation)
        started = time.perf_counter()
        con.execute(f"CREATE TABLE {DATASET}.yardstick AS SELECT * FROM {DATASET}.campaign_prospects")
        yardstick = time.perf_counter() - started
        con.execute(f"DROP TABLE {DATASET}.yardstick")
        first = build_models(con, DATASET)
        rebuilds, cpu_seconds = [], []
        for _ in range(args.repeat):
            cpu_started = time.process_time()  # all of DuckDB's threads: steadier than the wall when busy
            rebuilds.append(build_models(con, DATASET))
            cpu_seconds.append(time.process_time() - cpu_started)
    finally:
        con.close()
        if not args.database:
            path.unlink(missing_ok=True)
            Path(str(path) + ".wal").unlink(missing_ok=True)
            folder.rmdir()
    last = rebuilds[-1]
    per_model = {name: _median([r.model_seconds[name] for r in rebuilds]) for name in last.models}
    return {
        "raw_rows": raw,
        "single_campaign_share": args.single_campaign_share,
        "generate_seconds": round(generated, 2),
        "yardstick_copy_memberships_seconds": round(yardstick, 2),
        "first_build_seconds": round(first.seconds, 2),
        "rebuild_seconds": [round(r.seconds, 2) for r in rebuilds],
        "rebuild_median_seconds": _median([r.seconds for r in rebuilds]),
        "rebuild_cpu_seconds": [round(c, 2) for c in cpu_seconds],
        "rebuild_cpu_median_seconds": _median(cpu_seconds),
        "publish_median_seconds": _median([r.publish_seconds for r in rebuilds]),
        "model_median_seconds": dict(sorted(per_model.items(), key=lambda kv: -kv[1])),
        "rows_per_mart": last.rows_per_mart,
        "threads": args.threads or os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--memberships", type=int, default=3_000_000)
    parser.add_argument("--campaigns", type=int, default=1_000)
    parser.add_argument(
        "--single-campaign-share",
        type=float,
        default=0.0,
        help="share of prospects enrolled in exactly one campaign (default 0: every prospect in three)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rebuilds to time (median reported)")
    parser.add_argument("--database", help="DuckDB file to (re)create; default: a temporary file")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except ValueError as exc:  # the sizes asked for cannot be generated
        parser.error(str(exc))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"raw rows: {result['raw_rows']}")
    print(f"generated in {result['generate_seconds']} s")
    print(f"yardstick (copy the membership table once): {result['yardstick_copy_memberships_seconds']} s")
    print(f"first build {result['first_build_seconds']} s, rebuilds {result['rebuild_seconds']} s")
    print(f"rows per mart: {result['rows_per_mart']}")
    print(f"per model (median of {args.repeat} rebuilds, slowest first):")
    for name, seconds in result["model_median_seconds"].items():
        print(f"  {name:<48} {seconds:6.2f} s")
    print(f"  {'(publish: drop, rename, re-create views)':<48} {result['publish_median_seconds']:6.2f} s")
    print(
        f"rebuild of all models: {result['rebuild_median_seconds']} s, "
        f"{result['rebuild_cpu_median_seconds']} CPU-s (median of {args.repeat}; "
        f"threads {result['threads']}, load average {result['load_average_1m']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
