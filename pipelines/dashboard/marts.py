"""What the dashboard shows, read from the engagement marts (read-only) into one compact JSON payload.

The page filters in the browser, so the payload holds the marts' counts at the grain the filters need
and no rate: the page re-aggregates counts and divides exactly as docs/metrics.md defines each rate.

- `campaigns`: `campaign_performance`, one entry per live campaign (names, statuses, the vendor's
  reported numbers and the reported − computed deltas).
- `cells`: `campaign_prospect_engagement` summed per campaign, sending mailbox and UTC day of the
  membership's `last_activity_at` (null: no observed activity). Summed over a campaign's cells, every
  count equals its `campaign_performance` column.
- `daily`: `campaign_daily_activity` as it is (campaign × UTC day).
- `steps`: `step_version_performance` (campaign × step × A/B version).
- `domains` / `domain_cells`: the same counts as `cells` per email domain of the prospect, for the
  domains that lead `company_engagement` by campaign replies and by prospects contacted.
- `freshness`: the last successful load (dlt's `_dlt_loads`) and the row count of every table.

Every query runs in one short read-only session per payload: nothing is held between page builds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.information_schema import dataset_tables
from transforms.quoting import literal, quote

from .. import defaults
from ..exit_codes import CliError, ExitCode
from ..load_options import LoadOptions

Query = Callable[[str], list[tuple[Any, ...]]]

# A campaign whose reply-rate denominator (contacted − bounced) is below this is "not comparable":
# its 95 % interval is wider than about ±14 points at a 50 % rate (docs/dashboard.md).
MIN_COMPARABLE = 50
# A sending mailbox whose bounce rate is above this is flagged.
BOUNCE_FLAG_RATE = 0.05
# Email domains kept for the company and deliverability panels.
TOP_COMPANY_DOMAINS = 50
TOP_BOUNCE_DOMAINS = 30

MARTS = (
    "campaign_performance",
    "campaign_prospect_engagement",
    "campaign_daily_activity",
    "step_version_performance",
    "company_engagement",
    "prospect_engagement",
)

# The counts summed per cell (those the page shows), as campaign_performance computes them from
# campaign_prospect_engagement (alias e).
CELL_COUNTS = {
    "enrolled": "COUNT(*)",
    "contacted": "COUNT(CASE WHEN e.was_contacted THEN 1 END)",
    "emails_sent": "COALESCE(SUM(e.sends), 0)",
    "unique_opened_or_clicked": "COUNT(CASE WHEN e.was_opened OR e.was_clicked THEN 1 END)",
    "replied": "COUNT(CASE WHEN e.was_replied THEN 1 END)",
    "bounced": "COUNT(CASE WHEN e.was_bounced THEN 1 END)",
    "interested": "COUNT(CASE WHEN e.interest = 'INTERESTED' THEN 1 END)",
    "positive_replies": "COUNT(CASE WHEN e.is_positive_reply THEN 1 END)",
}
DOMAIN_COUNTS = ("contacted", "emails_sent", "replied", "bounced", "positive_replies")
DAILY_COUNTS = ("contacts", "opens", "clicks", "replies", "bounces",
                "event_sends", "event_opens", "event_clicks", "event_replies", "event_bounces")  # fmt: skip
REPORTED = ("reported_prospects", "reported_sent", "reported_replied", "reported_bounced",
            "reported_interested", "delta_enrolled", "delta_emails_sent", "delta_replied",
            "delta_bounced", "delta_interested")  # fmt: skip

_EPOCH_DAY = "CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 86400) AS INTEGER)"


@dataclass(frozen=True)
class MartSource:
    """Where the marts are: a DuckDB file (the duckdb and filesystem destinations) or a dlt destination."""

    destination: str = defaults.DESTINATION
    duckdb_path: str = defaults.DUCKDB_PATH
    dataset: str = defaults.DATASET_NAME
    pipeline_name: str = defaults.PIPELINE_NAME
    pipelines_dir: str | None = None

    @property
    def label(self) -> str:
        """Where the data comes from, for the page header."""
        if self.destination in defaults.DUCKDB_FILE_DESTINATIONS:
            return f"{Path(self.duckdb_path).name} · {self.dataset}"
        return f"{self.destination} · {self.dataset}"

    def check(self) -> None:
        """Raise `CliError` (exit code 2) when the DuckDB file to read does not exist."""
        if self.destination in defaults.DUCKDB_FILE_DESTINATIONS and not Path(self.duckdb_path).is_file():
            raise CliError(
                f"No database at {self.duckdb_path}: run `woodpecker-etl load` (or `make demo`) first, "
                "or pass --duckdb-path.",
                ExitCode.CONFIGURATION,
            )

    @contextlib.contextmanager
    def session(self) -> Iterator[tuple[Query, Callable[[str], str], set[str]]]:
        """One read-only session: a query function, a table-name qualifier and the dataset's tables.

        Raises:
            CliError: the DuckDB file does not exist (exit code 2).
        """
        if self.destination in defaults.DUCKDB_FILE_DESTINATIONS:
            import duckdb

            self.check()
            con = duckdb.connect(self.duckdb_path, read_only=True)
            try:
                tables = dataset_tables(lambda sql: con.execute(sql).fetchall(), self.dataset, "duckdb")

                def run(sql: str) -> list[tuple[Any, ...]]:
                    return con.execute(sql).fetchall()

                yield run, lambda t: f"{quote(self.dataset)}.{quote(t)}", tables
            finally:
                con.close()
            return
        yield from _dlt_session(self)


def _dlt_session(source: MartSource) -> Iterator[tuple[Query, Callable[[str], str], set[str]]]:
    """A session over any other dlt destination, through the pipeline's SQL client (DuckDB SQL transpiled)."""
    # dlt (and sqlglot) only for a destination other than a DuckDB file: `dashboard` starts without them.
    from transforms.dialects import to_dialect

    from ..dlt_pipeline import make_pipeline

    pipeline = make_pipeline(
        LoadOptions(
            destination=source.destination,
            duckdb_path=source.duckdb_path,
            dataset=source.dataset,
            pipeline_name=source.pipeline_name,
            pipelines_dir=source.pipelines_dir,
        )
    )
    with pipeline.sql_client() as client:
        dialect = str(client.capabilities.sqlglot_dialect or "duckdb")
        tables: set[str] = set()
        for name in (*MARTS, *defaults.SOURCE_TABLES, "_dlt_loads"):
            with contextlib.suppress(Exception):
                client.execute_sql(f"SELECT 1 FROM {client.make_qualified_table_name(name)} WHERE 1 = 0")
                tables.add(name)

        def run(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in client.execute_sql(to_dialect(sql, dialect)) or []]

        yield run, client.make_qualified_table_name, tables


def _ints(values: tuple[Any, ...] | list[Any]) -> list[int]:
    """Counts as Python ints (PostgreSQL's sums arrive as Decimal; DuckDB's are ints already).

    The queries never return NULL counts, and a column's values share one type: the first one tells.
    """
    if not values or type(values[0]) is int:
        return list(values)
    return [int(v or 0) for v in values]


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def _columns(rows: list[tuple[Any, ...]], names: tuple[str, ...] | list[str]) -> dict[str, list[Any]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _freshness(run: Query, table: Callable[[str], str], tables: set[str]) -> dict[str, Any]:
    last = None
    if "_dlt_loads" in tables:
        value = run(f"SELECT MAX(inserted_at) FROM {table('_dlt_loads')} WHERE status = 0")[0][0]
        if isinstance(value, dt.datetime):
            last = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
    counts = []
    for name in (*defaults.SOURCE_TABLES, *MARTS):
        if name in tables:
            counts.append([name, int(run(f"SELECT COUNT(*) FROM {table(name)}")[0][0])])
    return {"last_load_at": last, "tables": counts}


def build_payload(source: MartSource, now: dt.datetime | None = None) -> dict[str, Any]:
    """Query the marts once (read-only) and return the dashboard's data.

    Args:
        source: Where the marts are.
        now: When the payload is built (default: the current UTC time); shown as "generated at".

    Returns:
        A JSON-serialisable dict; `has_data` is False when no mart or no membership exists yet.
    """
    generated = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    payload: dict[str, Any] = {
        "generated_at": generated.isoformat(),
        "source": source.label,
        "settings": {
            "min_comparable": MIN_COMPARABLE,
            "bounce_flag_rate": BOUNCE_FLAG_RATE,
            "top_company_domains": TOP_COMPANY_DOMAINS,
            "top_bounce_domains": TOP_BOUNCE_DOMAINS,
        },
    }
    with source.session() as (run, table, tables):
        payload["freshness"] = _freshness(run, table, tables)
        missing = [m for m in MARTS if m not in tables]
        payload["missing_marts"] = missing
        if missing:
            payload["has_data"] = False
            return payload
        payload.update(_mart_data(run, table))
    payload["has_data"] = bool(payload["campaigns"]["id"]) and bool(payload["cells"]["c"])
    return payload


def _mart_data(run: Query, table: Callable[[str], str]) -> dict[str, Any]:
    campaign_rows = run(
        f"SELECT campaign_id, campaign_name, campaign_status, {', '.join(REPORTED)} "
        f"FROM {table('campaign_performance')} ORDER BY campaign_id"
    )
    campaigns = _columns(campaign_rows, ("id", "name", "status", *REPORTED))
    campaigns["id"] = [int(v) for v in campaigns["id"]]
    for name in REPORTED:
        campaigns[name] = [_number(v) for v in campaigns[name]]
    index = {cid: i for i, cid in enumerate(campaigns["id"])}

    counts = ", ".join(f"{expr} AS {name}" for name, expr in CELL_COUNTS.items())
    day = _EPOCH_DAY.format(column="e.last_activity_at")
    cell_rows = run(
        f"SELECT e.campaign_id, e.campaign_email, {day} AS day, {counts} "
        f"FROM {table('campaign_prospect_engagement')} AS e GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    mailboxes = sorted({str(r[1]) for r in cell_rows if r[1] is not None})
    mailbox_index = {m: i for i, m in enumerate(mailboxes)}
    cells = _cells(cell_rows, index, mailbox_index, tuple(CELL_COUNTS))

    daily_rows = run(
        f"SELECT campaign_id, DATEDIFF('day', DATE '1970-01-01', activity_date) AS day, "
        f"{', '.join(DAILY_COUNTS)} FROM {table('campaign_daily_activity')} ORDER BY 1, 2"
    )
    daily_rows = [r for r in daily_rows if int(r[0]) in index]
    columns = list(zip(*daily_rows, strict=True)) or [()] * (2 + len(DAILY_COUNTS))
    daily: dict[str, list[Any]] = {"c": [index[int(v)] for v in columns[0]], "d": _ints(columns[1])}
    for i, name in enumerate(DAILY_COUNTS):
        daily[name] = _ints(columns[2 + i])

    step_rows = run(
        "SELECT campaign_id, step_number, email_number, version, subject, step_prospects_reached, "
        f"step_replied_after, step_bounced_at FROM {table('step_version_performance')} "
        "WHERE email_number IS NOT NULL ORDER BY 1, 2, 4"
    )
    steps: dict[str, list[Any]] = {
        k: [] for k in ("c", "step", "email", "version", "subject", "reached", "replied", "bounced")
    }
    for row in step_rows:
        if int(row[0]) not in index:
            continue
        steps["c"].append(index[int(row[0])])
        steps["step"].append(int(row[1]))
        steps["email"].append(int(row[2]))
        steps["version"].append(row[3])
        steps["subject"].append(row[4])
        for key, value in zip(("reached", "replied", "bounced"), row[5:8], strict=True):
            steps[key].append(int(value or 0))

    domains, domain_cells = _domains(run, table, index, mailbox_index)
    return {
        "campaigns": campaigns,
        "mailboxes": mailboxes,
        "cells": cells,
        "daily": daily,
        "steps": steps,
        "domains": domains,
        "domain_cells": domain_cells,
    }


def _cells(
    rows: list[tuple[Any, ...]],
    campaign_index: dict[int, int],
    mailbox_index: dict[str, int],
    names: tuple[str, ...],
    extra: int = 0,
) -> dict[str, list[Any]]:
    """Columnar cells: campaign index `c`, mailbox index `m` (-1: none), epoch day `d`, then the counts."""
    rows = [r for r in rows if int(r[0]) in campaign_index]
    columns = list(zip(*rows, strict=True)) or [()] * (3 + extra + len(names))
    out: dict[str, list[Any]] = {
        "c": [campaign_index[int(v)] for v in columns[0]],
        "m": [-1 if v is None else mailbox_index.get(str(v), -1) for v in columns[1]],
        "d": [None if v is None else int(v) for v in columns[2]],
    }
    if extra:
        out["k"] = _ints(columns[3])
    for i, name in enumerate(names):
        out[name] = _ints(columns[3 + extra + i])
    return out


def _domains(
    run: Query, table: Callable[[str], str], campaign_index: dict[int, int], mailbox_index: dict[str, int]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The leading email domains of `company_engagement` and their counts per campaign, mailbox and day."""
    company = table("company_engagement")
    rows = run(
        f"SELECT email_domain, company_name, is_free_email_domain FROM ("
        f"  SELECT email_domain, company_name, is_free_email_domain FROM {company} "
        f"  WHERE email_domain IS NOT NULL AND NOT is_free_email_domain AND campaign_replies > 0 "
        f"  ORDER BY campaign_replies DESC, email_domain LIMIT {TOP_COMPANY_DOMAINS}) AS a "
        f"UNION SELECT email_domain, company_name, is_free_email_domain FROM ("
        f"  SELECT email_domain, company_name, is_free_email_domain FROM {company} "
        f"  WHERE email_domain IS NOT NULL AND prospects_contacted > 0 "
        f"  ORDER BY prospects_contacted DESC, email_domain LIMIT {TOP_BOUNCE_DOMAINS}) AS b "
        f"ORDER BY 1"
    )
    domains = {
        "name": [str(r[0]) for r in rows],
        "company": [r[1] for r in rows],
        "free": [bool(r[2]) for r in rows],
    }
    if not rows:
        return domains, _cells([], campaign_index, mailbox_index, DOMAIN_COUNTS, extra=1)
    domain_index = {name: i for i, name in enumerate(domains["name"])}
    listed = ", ".join(literal(name) for name in domains["name"])
    counts = ", ".join(f"{CELL_COUNTS[name]} AS {name}" for name in DOMAIN_COUNTS)
    day = _EPOCH_DAY.format(column="e.last_activity_at")
    cell_rows = run(
        f"SELECT e.campaign_id, e.campaign_email, {day} AS day, p.email_domain, {counts} "
        f"FROM {table('campaign_prospect_engagement')} AS e "
        f"INNER JOIN {table('prospect_engagement')} AS p ON p.prospect_id = e.prospect_id "
        f"WHERE p.email_domain IN ({listed}) GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    )
    rows_with_index = [(*r[:3], domain_index[str(r[3])], *r[4:]) for r in cell_rows]
    return domains, _cells(rows_with_index, campaign_index, mailbox_index, DOMAIN_COUNTS, extra=1)
