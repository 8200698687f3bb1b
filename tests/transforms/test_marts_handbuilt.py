"""The marts on the hand-built account of `scenario.py`, on DuckDB and on PostgreSQL.

Expected values are derived by hand from the scenario's rows (see the comments).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from transforms.build import build_models

from . import scenario
from .conftest import DATASET
from .raw import by_key, read_table, ts, write_tables

BACKENDS = ["duckdb", "postgres"]


@pytest.fixture(params=BACKENDS)
def built(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Build the scenario on one backend; return the marts keyed by their grain."""
    conn = request.getfixturevalue("duck" if request.param == "duckdb" else "pg_conn")
    write_tables(conn, DATASET, scenario.raw_tables())
    report = build_models(conn, DATASET)

    def read(table: str, *key: str) -> dict[Any, dict[str, Any]]:
        return by_key(read_table(conn, DATASET, table), *key)

    return {
        "report": report,
        "campaigns": read("campaign_performance", "campaign_id"),
        "pairs": read("campaign_prospect_engagement", "campaign_id", "prospect_id"),
        "prospects": read("prospect_engagement", "prospect_id"),
        "daily": read("campaign_daily_activity", "campaign_id", "activity_date"),
        "companies": read("company_engagement", "email_domain"),
        "steps": read("step_version_performance", "campaign_id", "step_id", "version_id"),
    }


def test_report_counts_rows_of_every_mart(built: dict[str, Any]) -> None:
    report = built["report"]
    assert report.rows_per_mart == {
        "campaign_performance": 3,  # campaigns 1, 2, 4 (3 is deleted)
        "campaign_prospect_engagement": 8,  # 4 live members in campaign 1, 4 in campaign 2
        "prospect_engagement": 8,  # 10, 11, 12, 13, 15, 17, 18, 19
        "campaign_daily_activity": 6,  # campaign 1: Mar 1-4; campaign 2: Mar 4-5
        "company_engagement": 5,  # acme.com, beta.io, gmail.com, gamma.dev, NULL
        "step_version_performance": 4,  # s1/A, s1/B, s2/A, s3/A
    }
    assert report.missing_tables == []
    assert len(report.models) == len(set(report.models)) >= 17


def test_campaign_counts_exclude_deleted_rows(built: dict[str, Any]) -> None:
    campaigns = built["campaigns"]
    assert set(campaigns) == {1, 2, 4}
    alpha = campaigns[1]
    assert alpha["campaign_name"] == "Alpha"  # the latest fetch wins
    # members 10, 11, 12, 13; 14 and 16 are deleted prospects
    assert alpha["enrolled"] == 4
    assert alpha["contacted"] == 3  # 13 has sent_mails NULL
    assert alpha["emails_sent"] == 4  # 2 + 1 + 1
    assert alpha["unique_opened"] == 2  # 10, 11 (14 deleted)
    assert alpha["unique_clicked"] == 1  # 10
    assert (alpha["replied"], alpha["bounced"], alpha["invalid"], alpha["opted_out"]) == (1, 1, 0, 0)
    assert (alpha["interested"], alpha["maybe_later"], alpha["not_interested"]) == (1, 1, 0)
    assert alpha["positive_replies"] == 1
    beta = campaigns[2]
    # members 10, 12 (latest fetch: invalid), 15, 17; 11's membership is deleted
    assert beta["enrolled"] == 4
    assert beta["contacted"] == 3  # 10, 15, 17
    assert beta["emails_sent"] == 3
    assert beta["unique_opened"] == 0  # 13 opened "in campaign 2" but is not a member
    assert beta["unique_clicked"] == 1  # 15
    assert (beta["replied"], beta["bounced"], beta["invalid"], beta["opted_out"]) == (1, 0, 1, 1)
    assert (beta["interested"], beta["maybe_later"], beta["not_interested"]) == (1, 0, 1)


def test_campaign_rates_are_null_safe(built: dict[str, Any]) -> None:
    alpha, beta, empty = (built["campaigns"][c] for c in (1, 2, 4))
    assert alpha["contact_rate"] == pytest.approx(3 / 4)
    assert alpha["bounce_rate"] == pytest.approx(1 / 3)
    assert alpha["open_rate"] == pytest.approx(2 / 2)  # 2 opened / (3 contacted - 1 bounced)
    assert alpha["click_rate"] == pytest.approx(1 / 2)
    assert alpha["reply_rate"] == pytest.approx(1 / 2)
    assert alpha["click_to_open_rate"] == pytest.approx(1 / 2)
    assert alpha["positive_reply_rate"] == pytest.approx(1.0)
    assert alpha["opt_out_rate"] == pytest.approx(0.0)
    assert beta["reply_rate"] == pytest.approx(1 / 3)
    assert beta["open_rate"] == pytest.approx(0.0)
    assert beta["click_to_open_rate"] == pytest.approx(1.0)  # clicked without an observed open
    assert beta["opt_out_rate"] == pytest.approx(1 / 3)
    assert empty["enrolled"] == empty["contacted"] == empty["replied"] == 0
    rates = ("contact_rate", "bounce_rate", "open_rate", "click_rate", "reply_rate", "click_to_open_rate",
             "positive_reply_rate", "opt_out_rate")  # fmt: skip
    assert all(empty[r] is None for r in rates)


def test_reported_stats_are_the_latest_snapshot_with_deltas(built: dict[str, Any]) -> None:
    alpha, beta = built["campaigns"][1], built["campaigns"][2]
    assert alpha["reported_at"] == ts("2025-03-05 00:00")
    assert (alpha["reported_prospects"], alpha["reported_sent"], alpha["reported_delivery"]) == (6, 5, 4)
    assert alpha["delta_enrolled"] == 6 - 4
    assert alpha["delta_emails_sent"] == 5 - 4
    assert alpha["emails_delivered"] == 4 - 1  # one bounced membership
    assert alpha["delta_emails_delivered"] == 4 - 3
    assert alpha["delta_unique_opened"] == 2 - 2
    assert alpha["delta_maybe_later"] == 1 - 1
    assert alpha["reported_queue"] == 1
    assert beta["reported_prospects"] is None and beta["delta_enrolled"] is None


def test_pair_grain_flags_and_attribution(built: dict[str, Any]) -> None:
    pairs = built["pairs"]
    assert set(pairs) == {(1, 10), (1, 11), (1, 12), (1, 13), (2, 10), (2, 12), (2, 15), (2, 17)}
    a = pairs[(1, 10)]
    assert a["campaign_email"] == "sender@example.com"  # trimmed and lower-cased
    assert (a["sends"], a["was_contacted"], a["was_opened"], a["was_clicked"]) == (2, True, True, True)
    assert (a["was_replied"], a["is_positive_reply"], a["interest"]) == (True, True, "INTERESTED")
    assert (a["observed_opens"], a["clicked_links"], a["observed_clicks"]) == (2, 2, 3)
    assert a["first_opened_at"] == ts("2025-03-01 11:00") and a["last_opened_at"] == ts("2025-03-02 08:00")
    assert a["last_clicked_at"] == ts("2025-03-04 00:00")
    assert a["last_contacted_at"] is None  # prospect 10 was contacted in campaigns 1 and 2
    assert a["last_replied_at"] == ts("2025-03-02 12:30")  # its only replied membership
    assert a["first_activity_at"] == ts("2025-03-01 11:00")
    assert a["last_activity_at"] == ts("2025-03-04 00:00")
    assert a["hours_from_last_send_to_reply"] is None
    assert pairs[(1, 11)]["interest"] == "MAYBE_LATER"
    assert pairs[(1, 11)]["last_contacted_at"] == ts("2025-03-03 09:00")  # other memberships are gone
    assert pairs[(1, 12)]["was_bounced"] and pairs[(1, 12)]["last_contacted_at"] == ts("2025-03-01 23:30")
    assert pairs[(1, 13)]["sends"] == 0 and not pairs[(1, 13)]["was_contacted"]
    assert pairs[(1, 13)]["interest"] == "NOT_MARKED" and pairs[(1, 13)]["first_activity_at"] is None
    assert pairs[(2, 12)]["status"] == "INVALID" and pairs[(2, 12)]["was_invalid"]
    assert pairs[(2, 12)]["interest"] == "NOT_MARKED"
    assert pairs[(2, 15)]["status"] == "OPT_OUT" and pairs[(2, 15)]["was_opted_out"]
    assert not pairs[(2, 15)]["was_opened"] and pairs[(2, 15)]["was_clicked"]
    h = pairs[(2, 17)]
    assert h["interest"] == "INTERESTED" and h["is_positive_reply"]
    assert h["hours_from_last_send_to_reply"] == pytest.approx(6.5)  # 09:00 → 15:30
    assert pairs[(2, 10)]["interest"] == "NOT_INTERESTED" and not pairs[(2, 10)]["is_positive_reply"]


def test_prospect_lifecycle_and_score(built: dict[str, Any]) -> None:
    prospects = built["prospects"]
    assert set(prospects) == {10, 11, 12, 13, 15, 17, 18, 19}
    stage = {pid: row["lifecycle_stage"] for pid, row in prospects.items()}
    assert stage == {
        10: "interested",
        11: "engaged",  # opened, maybe later, no reply
        12: "bounced",
        13: "new",  # enrolled, never contacted
        15: "opted_out",
        17: "interested",
        18: "new",
        19: "new",
    }
    score = {pid: row["engagement_score"] for pid, row in prospects.items()}
    # opened 10 + clicked 20 + replied 40 + interested 30 (+ maybe later 15), capped at 100; terminal → 0
    assert score == {10: 100, 11: 25, 12: 0, 13: 0, 15: 0, 17: 70, 18: 0, 19: 0}
    p10 = prospects[10]
    assert (p10["campaigns_enrolled"], p10["campaigns_contacted"], p10["emails_sent"]) == (2, 2, 3)
    assert (p10["campaigns_opened"], p10["campaigns_replied"], p10["campaigns_not_interested"]) == (1, 1, 1)
    assert p10["observed_opens"] == 2 and p10["observed_clicks"] == 3
    assert p10["last_activity_at"] == ts("2025-03-04 00:00")  # last click
    assert prospects[18]["campaigns_enrolled"] == 0 and prospects[18]["email_domain"] is None
    assert prospects[10]["email"] == "a@acme.com" and prospects[10]["email_domain"] == "acme.com"


def test_daily_activity_counts_by_utc_day(built: dict[str, Any]) -> None:
    day = dt.date.fromisoformat
    got = {
        k: (r["contacts"], r["opens"], r["clicks"], r["replies"], r["bounces"])
        for k, r in built["daily"].items()
    }
    assert got == {
        # contacts: 12 at 23:30 UTC on Mar 1 (also its bounce); opens: 10 at 11:00
        (1, day("2025-03-01")): (1, 1, 0, 0, 1),
        # 10 opened 08:00, clicked two links (one prospect), replied 12:30
        (1, day("2025-03-02")): (0, 1, 1, 1, 0),
        (1, day("2025-03-03")): (1, 1, 0, 0, 0),  # 11 contacted and opened
        (1, day("2025-03-04")): (0, 0, 1, 0, 0),  # 10's later click on link a
        (2, day("2025-03-04")): (2, 0, 0, 1, 0),  # 15 and 17 contacted, 17 replied
        (2, day("2025-03-05")): (0, 0, 1, 0, 0),  # 15 clicked
    }


def test_company_engagement_by_domain(built: dict[str, Any]) -> None:
    companies = built["companies"]
    assert set(companies) == {"acme.com", "beta.io", "gmail.com", "gamma.dev", None}
    acme = companies["acme.com"]
    assert acme["company_name"] == "Acme"  # 2 prospects say Acme, 1 says ACME Inc (14 is deleted)
    assert (acme["prospects"], acme["prospects_contacted"], acme["prospects_replied"]) == (3, 2, 1)
    assert acme["prospects_positive_reply"] == 1
    assert acme["reply_rate"] == pytest.approx(1 / 2) and acme["positive_reply_rate"] == pytest.approx(1.0)
    beta = companies["beta.io"]
    assert beta["company_name"] is None
    assert (beta["prospects"], beta["prospects_contacted"], beta["prospects_bounced"]) == (2, 2, 1)
    assert beta["reply_rate"] == pytest.approx(0.0) and beta["positive_reply_rate"] is None
    assert companies["gmail.com"]["is_free_email_domain"] and not acme["is_free_email_domain"]
    assert companies["gmail.com"]["reply_rate"] is None  # nobody contacted
    assert companies[None]["company_name"] == "Solo" and companies[None]["prospects"] == 1


def test_step_version_structure_and_step_metrics(built: dict[str, Any]) -> None:
    steps = built["steps"]
    assert set(steps) == {(1, "s1", "v1a"), (1, "s1", "v1b"), (1, "s2", "v2a"), (2, "s3", "v3a")}
    s1a, s1b, s2a, s3a = (steps[k] for k in sorted(steps))
    # campaign 1 sends: 10 → 2, 11 → 1, 12 → 1 (13 has 0)
    assert s1a["step_prospects_reached"] == s1b["step_prospects_reached"] == 3
    assert s1a["step_prospects_stopped_here"] == 2 and s1a["step_bounced_at"] == 1
    assert s1a["step_replied_after"] == 0
    assert (s2a["email_number"], s2a["step_prospects_reached"], s2a["step_replied_after"]) == (2, 1, 1)
    assert s2a["is_thread_reply"] and not s1a["is_thread_reply"]
    assert s1a["campaign_open_tracking_enabled"] and not s3a["campaign_open_tracking_enabled"]
    assert (s3a["step_prospects_reached"], s3a["step_replied_after"]) == (3, 1)
    assert s3a["step_reply_rate"] == pytest.approx(1 / 3)
    assert (s1a["version"], s1b["version"], s1a["wait_hours"], s2a["wait_hours"]) == ("A", "B", 0.0, 48.0)
