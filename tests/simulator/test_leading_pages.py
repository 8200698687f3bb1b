"""Leading pages and incremental queries, against the same query read whole.

The simulator sorts only the rows a query's first pages can hold, and narrows `diff=` queries to the
changed records before building rows (`simulator/query.py`). Each page served over HTTP must equal the
same slice of the whole answer, and each `diff=` answer the whole answer without `diff=` filtered on the
field, for every sort direction and row shape (prospects, memberships, clicked links).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from simulator import Simulator
from simulator.config import SimulatorConfig

from .test_api_contract import get
from .test_filters_and_writes import all_rows

PER_PAGE = 10


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(seed=11, prospects=700, campaigns=4, avg_memberships=2.5)) as running:
        yield running


def identity(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["id"], row.get("campaign_id"), row.get("clicked_url"), row.get("last_clicked"))


def page(sim: Simulator, number: int, **params: Any) -> tuple[list[tuple[Any, ...]], int]:
    resp = get(sim, "/rest/v1/prospects", page=number, per_page=PER_PAGE, **params)
    body = resp.json()
    rows = [] if isinstance(body, dict) else body
    return [identity(r) for r in rows], int(resp.headers["X-Total-Count"])


def campaigns(sim: Simulator) -> str:
    return ",".join(str(c) for c in sorted(sim.account.campaigns)[:3])


SHAPES: list[dict[str, Any]] = [
    {},
    {"status": "BOUNCED"},
    {"campaigns_id": None},
    {"campaigns_id": None, "status": "BOUNCED"},
    {"activity": "OPENED", "campaigns_id": None},
    {"activity": "CLICKED", "campaigns_id": None},
    {"interested": "NOT_MARKED"},
]


def params_of(sim: Simulator, shape: dict[str, Any], sort: str) -> dict[str, Any]:
    filled = {k: (campaigns(sim) if k == "campaigns_id" else v) for k, v in shape.items()}
    return {"sort": sort, **filled}


SORTS = ["-last_contacted", "+last_replied", "-updated", "+id", "-last_name", "-status"]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(s) or "plain")
def test_each_leading_page_is_the_slice_of_the_whole_answer(
    sim: Simulator, shape: dict[str, Any], sort: str
) -> None:
    params = params_of(sim, shape, sort)
    # The pages first: once the whole answer is read, the simulator serves pages from it.
    pages = {number: page(sim, number, **params) for number in (1, 2, 4)}
    whole = [identity(r) for r in all_rows(sim, **params)]
    assert len(whole) > 4 * PER_PAGE, "the account must be large enough for a partial sort"
    for number, (rows, total) in pages.items():
        assert total == len(whole)
        assert rows == whole[(number - 1) * PER_PAGE : number * PER_PAGE]


# The field a `diff=` names, as the answer spells it.
ANSWER_FIELD = {"updated": "updated", "last_opened": "last_open", "last_clicked": "last_clicked"}


def parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


@pytest.mark.parametrize(
    ("field", "shape"),
    [
        ("updated", {}),
        ("updated", {"campaigns_id": None}),
        ("last_opened", {"activity": "OPENED"}),
        ("last_opened", {"activity": "OPENED", "campaigns_id": None}),
        ("last_clicked", {"activity": "CLICKED"}),
        ("last_clicked", {"activity": "CLICKED", "campaigns_id": None}),
    ],
)
def test_a_diff_query_is_the_whole_answer_filtered_on_its_field(
    sim: Simulator, field: str, shape: dict[str, Any]
) -> None:
    params = params_of(sim, shape, f"+{field}")
    whole = all_rows(sim, **params)
    answered = ANSWER_FIELD[field]
    stamps = sorted(parse(r[answered]) for r in whole if r.get(answered))
    assert len(stamps) > 10
    for since in (stamps[len(stamps) // 3], stamps[-2]):
        diff = f"{field}>{since.strftime('%Y-%m-%dT%H:%M:%S%z')}"
        expected = [identity(r) for r in whole if r.get(answered) and parse(r[answered]) > since]
        assert [identity(r) for r in all_rows(sim, diff=diff, **params)] == expected
        assert expected, "the cut must leave rows to compare"


@pytest.mark.parametrize("shape", [{}, {"campaigns_id": None}], ids=["prospects", "memberships"])
def test_answers_sharing_an_expansion_keep_their_own_order(sim: Simulator, shape: dict[str, Any]) -> None:
    first = [identity(r) for r in all_rows(sim, **params_of(sim, shape, "-last_contacted"))]
    other = [identity(r) for r in all_rows(sim, **params_of(sim, shape, "+email"))]
    again = [identity(r) for r in all_rows(sim, **params_of(sim, shape, "-last_contacted"))]
    assert sorted(first) == sorted(other)
    assert first != other
    assert again == first


def test_a_scan_sorts_its_answer_at_most_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Page after page, a scan is served from one whole sort once past its first page."""
    from simulator import query

    sorts: list[int] = []
    real = query._order

    def counted(rows: list[query.Row], sort: tuple[tuple[str, bool], ...], plain: bool) -> list[query.Row]:
        sorts.append(len(rows))
        return real(rows, sort, plain)

    monkeypatch.setattr(query, "_order", counted)
    # A simulator of its own: no answer of another test cached in it.
    with Simulator(SimulatorConfig(seed=12, prospects=700, campaigns=4, avg_memberships=2.5)) as sim:
        params = params_of(sim, {"campaigns_id": None}, "+updated")
        served = [row for number in range(1, 30) for row in page(sim, number, **params)[0]]
        whole = [identity(r) for r in all_rows(sim, **params)]
    assert served == whole[: len(served)] and len(served) == 29 * PER_PAGE
    assert len(sorts) == 2, sorts  # the first page's leading rows, then the whole answer once
