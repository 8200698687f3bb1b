"""The exported dashboard file in headless Chromium, with every network request blocked.

The account is loaded from the simulator by `woodpecker-etl load --dashboard PATH.html`; the page's
numbers are compared with the same numbers queried from the marts with SQL, before and after filters,
and the unfiltered campaign counts with the simulator's ground truth.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from pipelines.dashboard.stats import two_proportion_p_value, wilson_interval

from .conftest import Account, copy_database
from .pages import (
    ACTIVITY_DAY,
    KPIS,
    after_render,
    drawn_marks,
    expected_kpis,
    league_cells,
    open_page,
    shown,
    tile_texts,
    tiles,
)

RATES = {"reply_rate", "positive_reply_rate", "bounce_rate"}
SCREENSHOT_ENV = "WOODPECKER_ETL_SAVE_SCREENSHOT"  # a folder: the run's screenshot is copied there


@pytest.fixture(scope="module")
def opened(
    browser: Any, account: Account, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Any]]:
    page, watched = open_page(browser, account.html.as_uri())
    shot = tmp_path_factory.mktemp("shots") / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copy(shot, Path(os.environ[SCREENSHOT_ENV]) / "dashboard.png")
    yield page, watched
    page.close()


@pytest.fixture
def page(opened: tuple[Any, Any]) -> Iterator[Any]:
    """The opened page, its filters cleared after the test."""
    yield opened[0]
    if opened[0].evaluate("document.getElementById('f-clear').offsetParent !== null"):
        after_render(opened[0], lambda: opened[0].click("#f-clear"))


def test_load_flag_exports_one_self_contained_file(account: Account) -> None:
    text = account.html.read_text(encoding="utf-8")
    assert f"Dashboard written to {account.html}" in account.load_output
    # no external resource is referenced by any element: scripts, styles and fonts are inline
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    assert 100_000 < len(text) < 5_000_000


def test_offline_page_loads_without_requests_or_errors(opened: tuple[Any, Any]) -> None:
    _, watched = opened
    assert watched.errors == []
    assert watched.requests and all(url.startswith("file:") for url in watched.requests), watched.requests


def test_every_chart_has_drawn_marks(page: Any, account: Account) -> None:
    assert drawn_marks(page, "series", "line") == 5  # contacts, opens, clicks, replies, bounces
    assert drawn_marks(page, "series", "symbol") > 5
    assert drawn_marks(page, "funnel", "rect") == 5
    mailboxes = account.sql(
        "SELECT COUNT(DISTINCT campaign_email) FROM woodpecker.campaign_prospect_engagement "
        "WHERE was_contacted"
    )[0][0]
    assert mailboxes > 1
    assert drawn_marks(page, "mailboxes", "rect") == mailboxes


def test_kpi_tiles_equal_the_marts(page: Any, account: Account) -> None:
    expected = expected_kpis(account)
    assert tiles(page) == expected
    assert tile_texts(page) == {k: shown(v, k in RATES) for k, v in expected.items()}
    # and the marts' counts are the simulator's ground truth
    truth = account.truth.campaign_engagement
    assert expected["reached"] == truth["contacted"].sum()
    assert expected["emails_sent"] == truth["emails_sent"].sum()
    assert expected["interested"] == truth["interested"].sum()


def test_league_table_cells_equal_the_marts(page: Any, account: Account) -> None:
    cells = league_cells(page)
    rows = account.sql(
        "SELECT campaign_id, enrolled, contacted, replied, reply_rate, positive_reply_rate, bounce_rate, "
        "interested, reported_replied, delta_replied, delta_emails_sent "
        "FROM woodpecker.campaign_performance WHERE enrolled > 0"
    )
    assert set(cells) == {r[0] for r in rows}
    columns = ("enrolled", "contacted", "replied", "reply_rate", "positive_reply_rate", "bounce_rate",
               "interested", "reported_replied", "delta_replied", "delta_emails_sent")  # fmt: skip
    for row in rows:
        expected = {c: (None if v is None else float(v)) for c, v in zip(columns, row[1:], strict=True)}
        assert cells[row[0]] == expected, row[0]
    truth = account.truth.campaign_engagement.set_index("campaign_id")
    for cid, values in cells.items():
        assert values["enrolled"] == truth.loc[cid, "enrolled"]
        assert values["replied"] == truth.loc[cid, "replied"]


def test_league_table_sorts_and_marks_small_campaigns(page: Any, account: Account) -> None:
    page.click("#league th[data-sort='reply_rate']")
    order = page.eval_on_selector_all(
        "#league tbody tr", "rows => rows.map(r => Number(r.dataset.campaignId))"
    )
    rates = dict(
        account.sql("SELECT campaign_id, reply_rate FROM woodpecker.campaign_performance WHERE enrolled > 0")
    )
    assert order == sorted(order, key=lambda cid: (-(rates[cid] if rates[cid] is not None else -1), cid))
    small = {
        r[0]
        for r in account.sql(
            "SELECT campaign_id FROM woodpecker.campaign_performance "
            "WHERE enrolled > 0 AND contacted - bounced < 50"
        )
    }
    marked = page.eval_on_selector_all(
        "#league tbody tr",
        "rows => rows.filter(r => r.querySelector('.badge.nc')).map(r => Number(r.dataset.campaignId))",
    )
    assert set(marked) == small
    page.click("#league th[data-sort='replied']")  # back to the default order


def test_campaign_filter_recomputes_every_tile(page: Any, account: Account) -> None:
    ids = [r[0] for r in account.sql(
        "SELECT campaign_id FROM woodpecker.campaign_performance WHERE contacted > 0 "
        "ORDER BY replied DESC LIMIT 2"
    )]  # fmt: skip
    before = tiles(page)
    after_render(page, lambda: page.select_option("#f-campaign", [str(i) for i in ids]))
    expected = expected_kpis(account, f"e.campaign_id IN ({ids[0]}, {ids[1]})")
    assert tiles(page) == expected
    assert expected != before
    assert set(league_cells(page)) == set(ids)


def test_status_and_mailbox_filters(page: Any, account: Account) -> None:
    status = account.sql(
        "SELECT campaign_status FROM woodpecker.campaign_performance "
        "GROUP BY 1 ORDER BY SUM(contacted) DESC LIMIT 1"
    )[0][0]
    after_render(page, lambda: page.select_option("#f-status", [status]))
    assert tiles(page) == expected_kpis(account, f"c.campaign_status = '{status}'")
    mailbox = account.sql(
        "SELECT campaign_email FROM woodpecker.campaign_prospect_engagement GROUP BY 1 ORDER BY 1 LIMIT 1"
    )[0][0]
    after_render(page, lambda: page.select_option("#f-mailbox", label=[mailbox]))
    assert tiles(page) == expected_kpis(
        account, f"c.campaign_status = '{status}' AND e.campaign_email = '{mailbox}'"
    )
    assert mailbox in page.inner_text("#in-force")


def test_date_range_and_change_against_previous_period(page: Any, account: Account) -> None:
    last = account.sql(f"SELECT MAX({ACTIVITY_DAY}) FROM woodpecker.campaign_prospect_engagement AS e")[0][0]
    after_render(page, lambda: page.click("#presets button[data-days='30']"))
    window = f"{ACTIVITY_DAY} BETWEEN DATE '{last}' - 29 AND DATE '{last}'"
    current = expected_kpis(account, window)
    assert tiles(page) == current
    previous = expected_kpis(account, f"{ACTIVITY_DAY} BETWEEN DATE '{last}' - 59 AND DATE '{last}' - 30")
    changes = dict(page.eval_on_selector_all(
        "[data-kpi]", "els => els.map(e => [e.dataset.kpi, e.querySelector('[data-change]')?.dataset.change])"
    ))  # fmt: skip
    for key in KPIS:
        if current[key] is not None and previous[key] is not None:
            assert float(changes[key]) == pytest.approx(current[key] - previous[key], abs=1e-12), key
    # typed dates give the same as the preset
    after_render(page, lambda: page.click("#f-clear"))
    page.fill("#f-to", str(last))
    after_render(page, lambda: page.fill("#f-from", str(last - datetime.timedelta(days=29))))
    assert tiles(page) == current


def test_weekly_and_daily_series(page: Any, account: Account) -> None:
    weekly = drawn_marks(page, "series", "symbol")
    after_render(page, lambda: page.select_option("#f-grain", "day"))
    days = account.sql(
        "SELECT DATE_DIFF('day', MIN(activity_date), MAX(activity_date)) + 1 "
        "FROM woodpecker.campaign_daily_activity"
    )[0][0]
    assert drawn_marks(page, "series", "symbol") == 5 * days > weekly
    after_render(page, lambda: page.select_option("#f-grain", "week"))


def test_filters_with_no_match_say_so(page: Any) -> None:
    after_render(page, lambda: page.fill("#f-to", "1990-01-01"))
    assert page.is_visible("#nomatch") and not page.is_visible("#tiles")


def _row_values(page: Any, selector: str) -> list[tuple[str, dict[str, float | None], str]]:
    rows = page.eval_on_selector_all(
        selector,
        "rows => rows.map(r => [r.dataset.campaignId + ':' + (r.dataset.email || r.dataset.domain), "
        "Object.fromEntries([...r.querySelectorAll('td[data-value]')]"
        ".map(td => [td.dataset.col, td.dataset.value])), r.textContent])",
    )
    return [
        (key, {c: (float(v) if v != "" else None) for c, v in cells.items()}, text)
        for key, cells, text in rows
    ]


def test_steps_equal_the_marts_and_name_no_version_winner(page: Any, account: Account) -> None:
    rows = _row_values(page, "#steps tbody tr[data-campaign-id]")
    expected = {
        f"{r[0]}:{r[1]}": (
            {
                "reached": float(r[2]),
                "replied_after": float(r[3]),
                "step_reply_rate": None if r[4] is None else float(r[4]),
            },
            r[5],
        )
        for r in account.sql(
            "SELECT campaign_id, email_number, MIN(step_prospects_reached), MIN(step_replied_after), "
            "MIN(step_reply_rate), COUNT(version) FROM woodpecker.step_version_performance "
            "WHERE email_number IS NOT NULL GROUP BY 1, 2"
        )
    }
    assert rows
    for key, cells, text in rows:
        values, versions = expected[key]
        assert cells == values, key
        assert ("not testable" in text) == (versions > 1), key
    assert any("not testable" in text for _, _, text in rows)
    assert page.query_selector("#steps .badge.win") is None


def test_top_companies_equal_company_engagement(page: Any, account: Account) -> None:
    rows = page.eval_on_selector_all(
        "#companies tbody tr[data-domain]",
        "rows => rows.map(r => [r.dataset.domain, Object.fromEntries("
        "[...r.querySelectorAll('td[data-value]')].map(td => [td.dataset.col, Number(td.dataset.value)]))])",
    )
    expected = {
        r[0]: {"replied": r[1], "positive_replies": r[2], "emails_sent": r[3]}
        for r in account.sql(
            "SELECT email_domain, campaign_replies, campaign_positive_replies, emails_sent "
            "FROM woodpecker.company_engagement WHERE NOT is_free_email_domain AND campaign_replies > 0 "
            "ORDER BY campaign_replies DESC, campaign_positive_replies DESC, email_domain LIMIT 10"
        )
    }
    assert dict(rows) == expected


def test_intervals_and_tests_equal_stats_py(page: Any) -> None:
    cases = [(0, 1), (1, 1), (3, 10), (10, 100), (57, 684), (999, 1000), (12345, 67890)]
    for x, n in cases:
        low, high = page.evaluate(f"wpStats.wilson({x}, {n})")
        expected = wilson_interval(x, n)
        assert expected is not None
        assert low == pytest.approx(expected[0], abs=1e-12) and high == pytest.approx(expected[1], abs=1e-12)
    assert page.evaluate("wpStats.wilson(0, 0)") is None
    for x1, n1, x2, n2 in [
        (30, 200, 15, 200),
        (132, 523, 125, 684),
        (5, 50, 5, 50),
        (0, 10, 0, 10),
        (1, 3, 2, 9),
    ]:
        p = two_proportion_p_value(x1, n1, x2, n2)
        js = page.evaluate(f"wpStats.twoProportionP({x1}, {n1}, {x2}, {n2})")
        assert (js is None) == (p is None)
        if p is not None:
            assert js == pytest.approx(p, abs=2e-7)  # the page's erfc is accurate to 1.2e-7


def test_winner_only_when_significant_and_intervals_shown(page: Any, account: Account) -> None:
    rows = account.sql(
        "SELECT campaign_id, replied, contacted - bounced AS delivered, bounced, contacted "
        "FROM woodpecker.campaign_performance WHERE contacted - bounced >= 50 "
        "ORDER BY reply_rate DESC, campaign_id"
    )
    assert len(rows) >= 2
    (best, x1, n1, _, _), (_, x2, n2, _, _) = rows[0], rows[1]
    p = two_proportion_p_value(x1, n1, x2, n2)
    winners = page.eval_on_selector_all(
        "#league tbody tr",
        "rows => rows.filter(r => r.querySelector('.badge.win')).map(r => Number(r.dataset.campaignId))",
    )
    assert winners == ([best] if p is not None and p < 0.05 and x1 / n1 > x2 / n2 else [])
    assert ("Winner:" in page.inner_text("#league-note")) == bool(winners)
    for cid, replied, delivered, bounced, contacted in rows:
        low, high = wilson_interval(replied, delivered)  # type: ignore[misc]
        text = page.inner_text(f"#league tr[data-campaign-id='{cid}'] td[data-col='reply_rate'] .ci")
        assert text == f"{100 * low:.1f} %–{100 * high:.1f} %"
        low, high = wilson_interval(bounced, contacted)  # type: ignore[misc]
        text = page.inner_text(f"#league tr[data-campaign-id='{cid}'] td[data-col='bounce_rate'] .ci")
        assert text == f"{100 * low:.1f} %–{100 * high:.1f} %"


def test_winner_named_when_the_difference_is_significant(page: Any, account: Account) -> None:
    rows = account.sql(
        "SELECT campaign_id, replied, contacted - bounced FROM woodpecker.campaign_performance "
        "WHERE contacted - bounced >= 50 ORDER BY reply_rate DESC, campaign_id"
    )
    (best, x1, n1), (worst, x2, n2) = rows[0], rows[-1]
    p = two_proportion_p_value(x1, n1, x2, n2)
    assert p is not None and p < 0.05  # the account's best and worst campaigns differ clearly
    after_render(page, lambda: page.select_option("#f-campaign", [str(best), str(worst)]))
    winners = page.eval_on_selector_all(
        "#league tbody tr .badge.win", "badges => badges.map(b => Number(b.closest('tr').dataset.campaignId))"
    )
    assert winners == [best]
    assert "Winner:" in page.inner_text("#league-note")


def _series_totals(page: Any) -> dict[str, float]:
    return dict(json.loads(page.get_attribute("#chart-series", "data-totals")))


def test_activity_series_equals_the_mart(page: Any, account: Account) -> None:
    sums = (
        "SELECT SUM(contacts), SUM(opens), SUM(clicks), SUM(replies), SUM(bounces) "
        "FROM woodpecker.campaign_daily_activity"
    )
    names = ("contacts", "opens", "clicks", "replies", "bounces")
    assert _series_totals(page) == dict(zip(names, account.sql(sums)[0], strict=True))
    assert not page.is_visible("#source-toggle")  # no webhook events in this account
    cid = account.sql("SELECT MIN(campaign_id) FROM woodpecker.campaign_daily_activity")[0][0]
    after_render(page, lambda: page.select_option("#f-campaign", [str(cid)]))
    assert _series_totals(page) == dict(
        zip(names, account.sql(f"{sums} WHERE campaign_id = {cid}")[0], strict=True)
    )


def test_webhook_event_series(browser: Any, account: Account, tmp_path: Path) -> None:
    db = copy_database(account, tmp_path / "events.duckdb")
    with duckdb.connect(str(db)) as con:  # events as the webhook columns of the mart would hold them
        con.execute(
            "UPDATE woodpecker.campaign_daily_activity SET event_sends = 3 * contacts + 1, "
            "event_opens = opens + 2, event_clicks = clicks, event_replies = replies + 1, "
            "event_bounces = bounces "
            "WHERE campaign_id % 2 = 0"
        )
        expected = con.execute(
            "SELECT SUM(event_sends), SUM(event_opens), SUM(event_clicks), SUM(event_replies), "
            "SUM(event_bounces) FROM woodpecker.campaign_daily_activity"
        ).fetchone()
    assert main(["dashboard", "--export", str(tmp_path / "events.html"), "--duckdb-path", str(db)]) == 0
    page, watched = open_page(browser, (tmp_path / "events.html").as_uri())
    assert page.is_visible("#source-toggle")
    after_render(page, lambda: page.select_option("#f-source", "events"))
    names = ("sends", "opens", "clicks", "replies", "bounces")
    assert _series_totals(page) == dict(zip(names, expected, strict=True))
    assert drawn_marks(page, "series", "line") == 5
    assert "webhook events" in page.inner_text("#series-note")
    assert watched.errors == []
    page.close()


def test_address_pins_the_period_for_a_wall_screen(browser: Any, account: Account) -> None:
    page, watched = open_page(browser, account.html.as_uri() + "#days=30&grain=day")
    last = account.sql(f"SELECT MAX({ACTIVITY_DAY}) FROM woodpecker.campaign_prospect_engagement AS e")[0][0]
    assert tiles(page) == expected_kpis(
        account, f"{ACTIVITY_DAY} BETWEEN DATE '{last}' - 29 AND DATE '{last}'"
    )
    assert page.input_value("#f-from") == str(last - datetime.timedelta(days=29))
    assert page.input_value("#f-grain") == "day"
    assert page.query_selector_all("[data-change]")  # changes against the previous 30 days are shown
    assert watched.errors == []
    page.close()
