"""Driving the dashboard page in the browser, and the numbers it must show, queried from the marts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .conftest import Account

KPIS = ("reached", "emails_sent", "reply_rate", "positive_reply_rate", "bounce_rate", "interested")
# The tiles as docs/metrics.md defines them, over summed mart counts (alias t: one row of sums).
KPI_SQL = """
SELECT reached, emails_sent,
       CASE WHEN reached - bounced > 0 THEN CAST(replied AS DOUBLE) / (reached - bounced) END,
       CASE WHEN replied > 0 THEN CAST(positive AS DOUBLE) / replied END,
       CASE WHEN reached > 0 THEN CAST(bounced AS DOUBLE) / reached END,
       interested
FROM ({sums}) AS t
"""
# Sums over the whole account: campaign_performance's own columns.
ACCOUNT_SUMS = """
SELECT SUM(contacted) AS reached, SUM(emails_sent) AS emails_sent, SUM(replied) AS replied,
       SUM(bounced) AS bounced, SUM(positive_replies) AS positive, SUM(interested) AS interested
FROM woodpecker.campaign_performance
"""
# Sums over the memberships that pass a filter (a WHERE clause over e and c).
FILTERED_SUMS = """
SELECT COUNT(CASE WHEN e.was_contacted THEN 1 END) AS reached, COALESCE(SUM(e.sends), 0) AS emails_sent,
       COUNT(CASE WHEN e.was_replied THEN 1 END) AS replied,
       COUNT(CASE WHEN e.was_bounced THEN 1 END) AS bounced,
       COUNT(CASE WHEN e.is_positive_reply THEN 1 END) AS positive,
       COUNT(CASE WHEN e.interest = 'INTERESTED' THEN 1 END) AS interested
FROM woodpecker.campaign_prospect_engagement AS e
JOIN woodpecker.campaign_performance AS c ON c.campaign_id = e.campaign_id
WHERE {where}
"""
ACTIVITY_DAY = "CAST(e.last_activity_at AT TIME ZONE 'UTC' AS DATE)"


def expected_kpis(account: Account, where: str | None = None) -> dict[str, Any]:
    """The six tiles' values for a filter (None: the whole account), from the marts."""
    sums = ACCOUNT_SUMS if where is None else FILTERED_SUMS.format(where=where)
    row = account.sql(KPI_SQL.format(sums=sums))[0]
    return {key: (None if value is None else float(value)) for key, value in zip(KPIS, row, strict=True)}


@dataclass
class Watched:
    """What a page did: console errors, uncaught exceptions and every request it made."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_page(browser: Any, url: str, block_network: bool = True) -> tuple[Any, Watched]:
    """Open `url` in a new page (any http(s) request aborted if blocked) and wait for its first render."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watched = Watched()
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("request", lambda r: watched.requests.append(r.url))
    if block_network:
        page.route("**/*", lambda r: r.abort() if r.request.url.startswith("http") else r.continue_())
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
    return page, watched


def after_render(page: Any, action: Callable[[], None]) -> None:
    """Run a user action and wait until the page has rendered again."""
    before = int(page.evaluate("document.body.dataset.renders"))
    action()
    page.wait_for_function(f"Number(document.body.dataset.renders) > {before}", timeout=10_000)


def tiles(page: Any) -> dict[str, float | None]:
    """The KPI tiles' exact values (data-value) by key."""
    values = page.eval_on_selector_all("[data-kpi]", "els => els.map(e => [e.dataset.kpi, e.dataset.value])")
    return {key: (float(value) if value != "" else None) for key, value in values}


def tile_texts(page: Any) -> dict[str, str]:
    """The KPI tiles' displayed values by key."""
    values = page.eval_on_selector_all(
        "[data-kpi]", "els => els.map(e => [e.dataset.kpi, e.querySelector('.value').textContent])"
    )
    return dict(values)


def shown(value: float | None, rate: bool) -> str:
    """A value formatted as the page shows it."""
    if value is None:
        return "—"
    return f"{100 * value:.1f} %" if rate else f"{int(value):,}"


def league_cells(page: Any) -> dict[int, dict[str, float | None]]:
    """Every league-table row's numeric cells (data-value) by campaign id."""
    rows = page.eval_on_selector_all(
        "#league tbody tr",
        "rows => rows.map(r => [r.dataset.campaignId, Object.fromEntries("
        "[...r.querySelectorAll('td[data-value]')].map(td => [td.dataset.col, td.dataset.value]))])",
    )
    return {
        int(cid): {col: (float(v) if v != "" else None) for col, v in cells.items()} for cid, cells in rows
    }


def drawn_marks(page: Any, chart: str, kind: str = "") -> int:
    """How many data marks with geometry a chart drew (`kind`: rect, line, symbol; default any)."""
    return int(
        page.eval_on_selector_all(
            f"#chart-{chart} svg g.role-mark{'.mark-' + kind if kind else ''} > path",
            "els => els.filter(e => (e.getAttribute('d') || '').length > 2).length",
        )
    )
