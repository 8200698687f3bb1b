"""Paging over changing data (in memory): nothing lost, exact request counts, safe resume points."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from sources.woodpecker.normalise import parse_timestamp
from sources.woodpecker.paging import AscendingScan, PageSizes, RecentScan, ResumePoint

from .fakes import T0, FakeProspects


def _updated(row: Mapping[str, Any]) -> datetime | None:
    return parse_timestamp(row.get("updated"))


def _contacted(row: Mapping[str, Any]) -> datetime | None:
    return parse_timestamp(row.get("last_contacted"))


def _ordered_by(field: str) -> dict[str, Any]:
    """A scan's sort field, the value it reads from a row, and the row's key (its id)."""
    value = {"updated": _updated, "last_contacted": _contacted}[field]
    return {"sort_field": field, "value": value, "key": lambda r: r["id"]}


def _scan(
    fake: FakeProspects,
    per_page: int,
    since: datetime | None = None,
    sizes: PageSizes | None = None,
    resume: ResumePoint | None = None,
) -> AscendingScan:
    """Rows by `updated`, oldest first, from `since` (or from a checkpoint, `resume`)."""
    options = {"since": since, "per_page": per_page, "sizes": sizes, "resume": resume}
    return AscendingScan(fake.fetch, {}, **_ordered_by("updated"), **options)


def _recent_scan(
    fake: FakeProspects, threshold: datetime, per_page: int, probe_size: int, sizes: PageSizes | None = None
) -> RecentScan:
    """Rows contacted since `threshold`, newest first (a probe of `probe_size`, then pages)."""
    options = {"threshold": threshold, "per_page": per_page, "probe_size": probe_size, "sizes": sizes}
    return RecentScan(fake.fetch, {}, **_ordered_by("last_contacted"), **options)


def _read(scan: AscendingScan) -> dict[int, datetime]:
    """Latest value read per id (later pages win, like the merge on `_fetched_at`)."""
    seen: dict[int, datetime] = {}
    for page in scan:
        for row in page.rows:
            value = _updated(row)
            assert value is not None
            seen[row["id"]] = value
    return seen


@pytest.mark.parametrize(
    ("count", "per_page"), [(0, 10), (1, 10), (10, 10), (11, 10), (95, 10), (2500, 1000)]
)
def test_unchanged_data_costs_ceil_n_over_per_page_requests(count: int, per_page: int) -> None:
    fake = FakeProspects.with_rows(count)
    scan = _scan(fake, per_page)
    seen = _read(scan)
    assert set(seen) == set(fake.rows)
    assert len(fake.requests) == max(1, math.ceil(count / per_page))
    assert scan.result.consistent
    assert scan.result.repairs == 0
    assert scan.result.resume_from == scan.result.started == T0  # API time of the first answer


def test_diff_window_reads_only_newer_rows_and_sends_sort_and_diff() -> None:
    fake = FakeProspects.with_rows(50)
    cutoff = sorted(r["updated"] for r in fake.rows.values())[30]
    expected = {i for i, r in fake.rows.items() if r["updated"] > cutoff}
    seen = _read(_scan(fake, 10, since=cutoff))
    assert set(seen) == expected
    assert fake.requests[0]["sort"] == "+updated"
    assert fake.requests[0]["diff"] == "updated>" + cutoff.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _mutate_at(request_no: int, action: Any) -> Any:
    def hook(fake: FakeProspects, n: int) -> None:
        if n == request_no:
            action(fake)

    return hook


@pytest.mark.parametrize("step_seconds", [0, 1])
@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param(lambda f: f.edit(3), id="edit-read-row"),
        pytest.param(lambda f: f.delete(2), id="delete-read-row"),
        pytest.param(lambda f: (f.delete(2), f.add()), id="delete-and-add-same-gap"),
        pytest.param(lambda f: (f.delete(2), f.edit(45)), id="delete-and-edit-unread-same-gap"),
        pytest.param(lambda f: [f.edit(i) for i in range(1, 9)], id="edit-many-read-rows"),
    ],
)
def test_mutation_between_pages_loses_nothing(mutation: Any, step_seconds: int) -> None:
    fake = FakeProspects.with_rows(60, step_seconds=step_seconds)
    fake.before_page = _mutate_at(3, mutation)
    scan = _scan(fake, 10)
    seen = _read(scan)
    assert scan.result.consistent
    assert scan.result.repairs >= 1
    for prospect_id, row in fake.rows.items():
        assert seen.get(prospect_id) == row["updated"], prospect_id


def test_scan_that_cannot_be_repaired_resumes_before_the_gap() -> None:
    fake = FakeProspects.with_rows(60)
    served: list[int] = []

    def keep_deleting(f: FakeProspects, n: int) -> None:
        if n >= 2 and served and served[-1] in f.rows:
            f.delete(served[-1])  # the last row read goes: every later row slides back by one

    def fetch(params: Any) -> Any:
        rows, answer = fake.fetch(params)
        served.extend(r["id"] for r in rows)
        return rows, answer

    fake.before_page = keep_deleting
    scan = AscendingScan(
        fetch,
        {},
        sort_field="updated",
        value=_updated,
        key=lambda r: r["id"],
        since=None,
        per_page=10,
        max_repairs=1,
    )
    seen = _read(scan)
    assert not scan.result.consistent
    resume = scan.result.resume_from
    assert resume is not None
    missed = [r for i, r in fake.rows.items() if i not in seen]
    assert missed, "the scenario must actually skip rows"
    assert all(r["updated"] >= resume for r in missed)


def test_server_repeating_pages_does_not_loop_forever() -> None:
    class Stuck(FakeProspects):
        def fetch(self, params: Any) -> Any:
            rows, answer = super().fetch({**params, "page": 1})
            return rows, answer.__class__(200, rows, None, answer.fetched_at, answer.server_time)

    fake = Stuck.with_rows(30)
    scan = _scan(fake, 10)
    _read(scan)
    assert len(fake.requests) <= 3
    assert not scan.result.consistent


# Seeded property runs over a changing account (shared by the scans that run through and those resumed).
PROPERTY_RUNS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
COUNTS = st.integers(min_value=0, max_value=60)
PAGE_SIZES = st.integers(min_value=3, max_value=15)
CLOCK_STEPS = st.sampled_from([0, 1, 30])


def _events(last_request: int) -> st.SearchStrategy[list[tuple[int, str, int]]]:
    """Edits, deletions and additions, each before the answer to a request numbered 1…`last_request`."""
    return st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=last_request),
            st.sampled_from(["edit", "delete", "add"]),
            st.integers(min_value=0, max_value=10_000),
        ),
        max_size=8,
    )


@PROPERTY_RUNS
@given(count=COUNTS, per_page=PAGE_SIZES, step_seconds=CLOCK_STEPS, events=_events(12))
def test_every_row_is_read_or_left_for_the_next_run(
    count: int, per_page: int, step_seconds: int, events: list[tuple[int, str, int]]
) -> None:
    fake = FakeProspects.with_rows(count, step_seconds=step_seconds)
    edited: set[int] = set()
    documented_limit: list[bool] = []

    def hook(f: FakeProspects, n: int) -> None:
        deleted_edited = added = False
        for request_no, kind, pick in events:
            if request_no != n:
                continue
            ids = sorted(f.rows)
            if kind == "add" or not ids:
                f.add()
                added = True
            elif kind == "edit":
                f.edit(ids[pick % len(ids)])
                edited.add(ids[pick % len(ids)])
            else:
                victim = ids[pick % len(ids)]
                deleted_edited = deleted_edited or victim in edited
                f.delete(victim)
        if deleted_edited and added:
            documented_limit.append(True)

    fake.before_page = hook
    scan = _scan(fake, per_page)
    seen = _read(scan)
    # Documented limit of page-number paging (see AscendingScan): a row changed during the scan, then
    # deleted in the same gap as another row is added, can hide a slide; reconciliation covers it.
    assume(not documented_limit)
    resume = scan.result.resume_from
    for prospect_id, row in fake.rows.items():
        if seen.get(prospect_id) == row["updated"]:
            continue
        # not read in its final state: the next run's window (resume_from − lag, lag ≥ 1 s) must cover it
        assert resume is not None and row["updated"] >= resume - timedelta(seconds=1), (
            prospect_id,
            row,
            resume,
        )
    if scan.result.consistent:
        started = scan.result.started
        assert started is not None
        stale = [i for i, r in fake.rows.items() if seen.get(i) != r["updated"]]
        assert all(fake.rows[i]["updated"] >= started.replace(microsecond=0) for i in stale)


def test_recent_scan_stops_below_threshold_with_one_small_request() -> None:
    fake = FakeProspects.with_rows(500)
    for i in (10, 20, 30):
        fake.touch(i)
    threshold = fake.now - timedelta(seconds=120)
    scan = _recent_scan(fake, threshold, per_page=1000, probe_size=100)
    ids = [row["id"] for page in scan for row in page.rows]
    assert sorted(ids) == [10, 20, 30]
    assert len(fake.requests) == 1
    assert fake.requests[0]["per_page"] == 100
    assert fake.requests[0]["sort"] == "-last_contacted"


def test_recent_scan_continues_with_full_pages_when_everything_is_recent() -> None:
    fake = FakeProspects.with_rows(250, step_seconds=0)
    for i in range(1, 181):
        fake.touch(i)
    scan = _recent_scan(fake, fake.now - timedelta(seconds=120), per_page=50, probe_size=20)
    ids = {row["id"] for page in scan for row in page.rows}
    assert ids == set(range(1, 181))
    # probe (20) then full pages of 50 from the top: 180 recent rows end inside page 4
    assert [r["per_page"] for r in fake.requests] == [20, 50, 50, 50, 50]
    assert scan.result.consistent


class CappedProspects(FakeProspects):
    """Serves at most `cap` rows per page (pages numbered at that size), with or without a count."""

    cap: int = 7
    counted: bool = True

    def fetch(self, params: Mapping[str, Any]) -> Any:
        asked = int(params["per_page"])
        rows, answer = super().fetch({**params, "per_page": min(asked, self.cap)})
        self.requests[-1]["per_page"] = asked  # as the client asked
        total = answer.total if self.counted else None
        return rows, answer.__class__(200, rows, total, answer.fetched_at, answer.server_time)


@pytest.mark.parametrize("counted", [True, False])
@pytest.mark.parametrize("count", [0, 5, 7, 30, 63])
def test_pages_shorter_than_asked_do_not_end_the_scan(count: int, counted: bool) -> None:
    fake = CappedProspects.with_rows(count)
    fake.counted = counted
    scan = _scan(fake, 20)
    seen = _read(scan)
    assert set(seen) == set(fake.rows)
    assert scan.result.consistent and scan.result.complete
    pages = math.ceil(count / 7)
    if counted:
        assert len(fake.requests) == max(1, pages)  # stops at the count: nothing wasted
    else:
        # without a count only an empty page ends the scan (at most one page more)
        assert len(fake.requests) in (pages, pages + 1) and len(fake.requests) >= 1
    # after the first short page, pages are asked at the size the server served
    # (an empty page confirming the end may be asked at the size of the short page before it)
    asked = [r["per_page"] for r in fake.requests]
    assert all(size == min(count, 7) for size in asked[1:-1]) and all(size <= 7 for size in asked[1:])


def test_the_learned_page_size_is_shared_and_recent_scans_follow_it() -> None:
    fake = CappedProspects.with_rows(40, step_seconds=0)
    for i in range(1, 31):
        fake.touch(i)
    sizes = PageSizes()
    _read(_scan(fake, 20, sizes=sizes))
    assert sizes.cap == 7
    fake.requests.clear()
    scan = _recent_scan(fake, fake.now - timedelta(seconds=120), per_page=20, probe_size=5, sizes=sizes)
    ids = {row["id"] for page in scan for row in page.rows}
    assert ids == set(range(1, 31))
    assert [r["per_page"] for r in fake.requests] == [5] + [7] * 5  # probe, then 30 recent rows of 7


def test_a_count_the_pages_never_reach_leaves_the_scan_incomplete() -> None:
    class Overcounted(FakeProspects):
        def fetch(self, params: Any) -> Any:
            rows, answer = super().fetch(params)
            return rows, answer.__class__(200, rows, answer.total + 3, answer.fetched_at, answer.server_time)

    fake = Overcounted.with_rows(25)
    scan = _scan(fake, 10)
    seen = _read(scan)
    assert set(seen) == set(fake.rows)  # what exists is read…
    assert not scan.result.complete and not scan.result.consistent  # …but the count is never reached
    assert scan.result.repairs == 4  # each retry goes on from the highest value read
    assert scan.result.resume_from is not None


@PROPERTY_RUNS
@given(
    count=COUNTS,
    per_page=PAGE_SIZES,
    step_seconds=CLOCK_STEPS,
    stop_after=st.integers(min_value=1, max_value=8),
    events=_events(16),
    gap=st.lists(
        st.tuples(st.sampled_from(["edit", "delete", "add"]), st.integers(min_value=0, max_value=10_000)),
        max_size=4,
    ),
)
# A row read before the stop is edited before the second page is served: the row behind the first
# boundary slides onto page 1, unread, below the checkpoint's point; only the resumed pass can notice.
@example(count=30, per_page=10, step_seconds=1, stop_after=2, events=[(2, "edit", 2)], gap=[])
def test_a_scan_stopped_and_resumed_from_its_checkpoint_loses_nothing(
    count: int,
    per_page: int,
    step_seconds: int,
    stop_after: int,
    events: list[tuple[int, str, int]],
    gap: list[tuple[str, int]],
) -> None:
    """A scan stopped after some pages (a killed chunked load) and resumed in a new scan from its
    checkpoint, with the data changing during both parts and in between, reads every row or leaves it
    to the next run, like a scan that ran through."""
    fake = FakeProspects.with_rows(count, step_seconds=step_seconds)
    edited: set[int] = set()
    documented_limit: list[bool] = []

    def change(f: FakeProspects, kind: str, pick: int) -> bool:
        ids = sorted(f.rows)
        if kind == "add" or not ids:
            f.add()
            return False
        victim = ids[pick % len(ids)]
        if kind == "edit":
            f.edit(victim)
            edited.add(victim)
            return False
        f.delete(victim)
        return victim in edited

    def hook(f: FakeProspects, n: int) -> None:
        deleted_edited = added = False
        for request_no, kind, pick in events:
            if request_no == n:
                deleted_edited = change(f, kind, pick) or deleted_edited
                added = added or kind == "add"
        if deleted_edited and added:
            documented_limit.append(True)

    fake.before_page = hook
    first = _scan(fake, per_page)
    seen: dict[int, datetime] = {}
    pages = iter(first)
    for _ in range(stop_after):
        page = next(pages, None)
        if page is None:
            break
        seen.update((row["id"], _updated(row)) for row in page.rows)  # type: ignore[misc]
    point = first.checkpoint()
    pages.close()  # type: ignore[attr-defined]
    fake.now += timedelta(seconds=60)
    deleted_edited = added = False
    for kind, pick in gap:
        deleted_edited = change(fake, kind, pick) or deleted_edited
        added = added or kind == "add"
    if deleted_edited and added:
        documented_limit.append(True)
    resumed = _scan(fake, per_page, resume=point)
    seen.update(_read(resumed))
    assume(not documented_limit)  # see test_every_row_is_read_or_left_for_the_next_run
    resume = resumed.result.resume_from
    for prospect_id, row in fake.rows.items():
        if seen.get(prospect_id) == row["updated"]:
            continue
        assert resume is not None and row["updated"] >= resume - timedelta(seconds=1), (prospect_id, row)
    if resumed.result.consistent:
        started = resumed.result.started
        assert started is not None and started == T0  # the first part's start is kept
        stale = [i for i, r in fake.rows.items() if seen.get(i) != r["updated"]]
        assert all(fake.rows[i]["updated"] >= started.replace(microsecond=0) for i in stale)
