"""Page-number paging over data that may change while it is being read.

Woodpecker pages by number (`page`, `per_page`) and counts matching rows in `X-Total-Count`. While a
scan runs, a row updated after its page was read moves to the end of an ascending sort and shifts the
rows behind it back by one; a deleted row shifts them back too. Either way the first row of a later page
slides onto a page already read and would be skipped. `AscendingScan` notices such disturbances and
re-reads from the affected page boundary with a fresh `diff` window; `RecentScan` reads the newest rows
of a descending sort until they fall below a threshold.

A page with fewer rows than asked ends a scan only when the scan's end is confirmed: `X-Total-Count` is
reached, or the next page is empty. A server that serves smaller pages than asked (a lower page-size cap
than documented) is followed at the size it really serves; `PageSizes` shares what one scan learned with
the later scans of the run.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Generator, Hashable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from . import settings
from .client import Answer
from .normalise import format_diff_timestamp, parse_timestamp

logger = logging.getLogger(__name__)

Row = dict[str, Any]
FetchPage = Callable[[Mapping[str, Any]], tuple[list[Row], Answer]]
ValueOf = Callable[[Mapping[str, Any]], datetime | None]
KeyOf = Callable[[Mapping[str, Any]], Hashable]
# A data timestamp that some row of a page carries (ideally the page's newest), or None.
PageTime = Callable[[list[Row]], datetime | None]

ONE_SECOND = timedelta(seconds=1)


@dataclass
class Page:
    """Rows of one answer (already filtered by the scan) and the answer itself."""

    rows: list[Row]
    answer: Answer


@dataclass
class ScanResult:
    """What a finished scan guarantees.

    Attributes:
        consistent: Every row that matched the filter and stayed unchanged through the scan was read.
        started: API time (`Date` header) of the scan's first answer.
        resume_from: Where the next run's window may start (it subtracts its lag): the scan start when
            consistent, else no later than the first page boundary that could not be repaired.
        requests: Pages requested (retries not counted).
        rows: Rows returned.
        repairs: Re-reads from a disturbed boundary.
        total: `X-Total-Count` of the last answer.
        ended: API time of the scan's last answer.
        latest: The newest data timestamp (any of the row's time fields, see `clock`) in the rows read:
            the API's data clock had at least reached it when the scan ended.
        served: Rows the final pass stepped over (`AscendingScan`).
        promised: `X-Total-Count` at the end of the final pass, when the server sends one.
    """

    consistent: bool = True
    started: datetime | None = None
    resume_from: datetime | None = None
    requests: int = 0
    rows: int = 0
    repairs: int = 0
    total: int | None = None
    ended: datetime | None = None
    latest: datetime | None = None
    served: int = 0
    promised: int | None = None

    @property
    def complete(self) -> bool:
        """Whether the final pass read as many rows as the API said match (True without a count)."""
        return self.promised is None or self.served >= self.promised

    def to_state(self) -> dict[str, Any]:
        """What a finished scan established, as a resource-state value (read back by `from_state`)."""
        return {name: getattr(self, name) for name in _RESULT_FIELDS}

    @classmethod
    def from_state(cls, value: Mapping[str, Any]) -> ScanResult:
        """A result saved by `to_state` (datetimes may come back as ISO text)."""
        result = cls()
        for name in _RESULT_FIELDS:
            item = value.get(name)
            if name in _RESULT_TIMES:
                item = _state_time(item)
            setattr(result, name, item if item is not None else getattr(result, name))
        return result

    def note_answer(self, answer: Answer) -> None:
        """Record the API time of an answer (the first one starts the scan)."""
        if self.started is None:
            self.started = answer.server_time
        self.ended = answer.server_time

    def note_time(self, value: datetime | None) -> None:
        """Record a data timestamp seen in a row."""
        if value is not None and (self.latest is None or value > self.latest):
            self.latest = value


_RESULT_TIMES = ("started", "resume_from", "ended", "latest")
_RESULT_FIELDS = ("consistent", *_RESULT_TIMES, "requests", "rows", "repairs", "served", "promised")


def _state_time(value: Any) -> datetime | None:
    """A datetime read back from dlt state (a datetime, or ISO text), or None."""
    if value is None or value == "":
        return None
    return parse_timestamp(value)


@dataclass
class ResumePoint:
    """Where an `AscendingScan` stopped between two pages goes on in a later process.

    A chunked load commits the rows of the pages handed on so far with this point in resource state; a
    load killed before the scan ended resumes it from here with a fresh `diff` window, not by page
    number (rows may have moved while nothing ran).

    Attributes:
        at: The window to read on from: just below the highest value handed on (None: from the start).
        restart: The window of the interrupted pass: read again from there when rows it had read
            moved before the interruption (a row may then have slid past a committed page boundary).
        started: API time of the scan's first answer (the scan keeps it across the interruption).
        pass_start: API time the interrupted pass began (None: nothing to check, `at` is `restart`).
        last_page: API time of the last page handed on: rows changed between `pass_start` and then
            disturbed boundaries already committed.
        latest: The newest data timestamp read so far.
        repairs: Re-reads made so far.
    """

    at: datetime | None = None
    restart: datetime | None = None
    started: datetime | None = None
    pass_start: datetime | None = None
    last_page: datetime | None = None
    latest: datetime | None = None
    repairs: int = 0

    def to_state(self) -> dict[str, Any]:
        """The point as a resource-state value."""
        return {
            "at": self.at,
            "restart": self.restart,
            "started": self.started,
            "pass_start": self.pass_start,
            "last_page": self.last_page,
            "latest": self.latest,
            "repairs": self.repairs,
        }

    @classmethod
    def from_state(cls, value: Any) -> ResumePoint | None:
        """A point saved by `to_state`; None when `value` is not one."""
        if not isinstance(value, Mapping):
            return None
        return cls(
            at=_state_time(value.get("at")),
            restart=_state_time(value.get("restart")),
            started=_state_time(value.get("started")),
            pass_start=_state_time(value.get("pass_start")),
            last_page=_state_time(value.get("last_page")),
            latest=_state_time(value.get("latest")),
            repairs=int(value.get("repairs") or 0),
        )


class PageSizes:
    """The page size a server really serves, learned by one scan and used by the later scans of a run.

    The documents disagree on the maximum `per_page` (1000 or 500); a server that serves fewer rows per
    page than asked, although more rows follow, has shown its cap.
    """

    def __init__(self, on_learn: Callable[[int, int], None] | None = None) -> None:
        self.cap: int | None = None
        self.on_learn = on_learn

    def size(self, per_page: int) -> int:
        """The page size to ask for: `per_page`, or the learned cap when it is smaller."""
        return min(per_page, self.cap) if self.cap is not None else per_page

    def learn(self, served: int, asked: int) -> None:
        """A page of `served` rows (of `asked`) was followed by more rows: the server's cap is `served`."""
        if served < asked and (self.cap is None or served < self.cap):
            if self.cap is None:
                logger.warning(
                    "The API serves at most %d rows per page (asked for %d); paging at %d",
                    served,
                    asked,
                    served,
                )
            self.cap = served
            if self.on_learn is not None:
                self.on_learn(served, asked)


def fitting_size(offset: int, served: int) -> int:
    """The largest page size no bigger than `served` whose pages start exactly at row `offset`.

    After a short page the scan continues at the size the server served; page numbers only address whole
    pages, so the size must divide the rows already stepped over (usually it is `served` itself).
    """
    for size in range(max(1, served), 0, -1):
        if offset % size == 0:
            return size
    return 1


class _NextPage:
    """Reads pages, fetching pages known to come next in a background thread, in order.

    The requests for the next pages run while the caller parses, converts and stores the page before,
    and go on while a chunked load commits its chunk (`chunks.py`); it is still one request in flight,
    since one thread sends them one after another. A page asked for that is not the next one expected
    cancels those not yet sent.
    """

    def __init__(self, fetch: FetchPage) -> None:
        self._fetch = fetch
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[dict[str, Any], Future[tuple[list[Row], Answer]]]] = deque()

    def __enter__(self) -> _NextPage:
        return self

    def __exit__(self, *exc: object) -> None:
        self._drop()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def _drop(self) -> None:
        """Cancel the pages not yet requested; let a request in flight finish (its answer is not needed)."""
        while self._pending:
            _, future = self._pending.popleft()
            if not future.cancel():
                future.exception()

    def prefetch(self, pages: list[dict[str, Any]]) -> None:
        """Start reading `pages` (in order) unless already started; `get` takes their answers."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="woodpecker-next-page")
        started = [params for params, _ in self._pending]
        for params in pages:
            if params not in started:
                self._pending.append((params, self._executor.submit(self._fetch, params)))

    def get(self, params: dict[str, Any]) -> tuple[list[Row], Answer]:
        """The page for `params`: the prefetched one when it is the next expected, else read now."""
        if self._pending and self._pending[0][0] == params:
            return self._pending.popleft()[1].result()
        self._drop()
        return self._fetch(params)


def _floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


class AscendingScan:
    """Every row matching `params`, ascending by `sort_field`, optionally only those changed after `since`.

    Iterate to get the pages; `result` is complete when iteration ends. Requests stop as soon as
    `X-Total-Count` is reached, so N rows cost ⌈N/per_page⌉ requests when nothing changes. A page
    shorter than asked before that point does not end the pass: the pass continues at the size the
    server served (without `X-Total-Count`, until a page is empty). A pass whose pages run out before
    the count it was promised continues from the highest value it read (a fresh `diff` window, counted
    as a repair); one that still ends short leaves `result.complete` False.

    A row changed after its page was read moves to the end and the rows behind it slide back by one,
    so the first row of a later page lands on a page already read; a deletion does the same. Each pass
    therefore looks for evidence of change: a key read twice, a value newer than the pass start, or
    `X-Total-Count` moving. With evidence, and more than one page, it reads the rows changed since
    the pass began (`diff` at the pass start, usually one request) and works out the first page boundary
    rows may have slid past:

    - a row read earlier in the pass with an older value → the first boundary served after both its
      page and its change;
    - any other row changed during the pass (an addition, which can hide a deletion in the same gap,
      or a change before its page was read) → the first boundary served after its change; rows an
      earlier pass already read with the same value do not count;
    - `X-Total-Count` falling, or fewer rows than it promised (a deletion, possibly of a row that had
      changed earlier) → the first boundary.

    The scan then re-reads with `diff=<field>>` just below the highest value read before that boundary,
    up to `max_repairs` times; if it still cannot settle, `result.resume_from` stays at that point so the
    next run reads from there. Not detectable: a row changed after its page was read, then deleted in the
    same gap as another row is added (rows may slide past one boundary unnoticed); reconciliation
    reads them.

    Args:
        fetch: Reads one page: params → (rows, answer).
        params: Filters of every request (without `page`, `per_page`, `sort`, `diff`).
        sort_field: Sort and `diff` key, e.g. `updated`, `last_opened`.
        value: The row's value of that key.
        key: The row's identity within the stream.
        since: Only rows with value > since (None: all rows).
        per_page: Page size.
        max_repairs: Re-reads allowed before the scan gives up and reports itself inconsistent.
        on_repair: Called once per re-read.
        sizes: Page size learned so far in the run (shared between scans); a private one when None.
        clock: A timestamp the rows of a page carry, ideally their newest (for `result.latest`); the
            page's highest `value` when None.
        resume: Go on from where an interrupted scan of the same filters stopped (`checkpoint`). Its
            first pass also looks for rows changed between the interrupted pass's start and its last
            committed page; such a row may have made another slide past a committed boundary, so the
            interrupted pass is then read again from its start (counted as a repair).
    """

    def __init__(
        self,
        fetch: FetchPage,
        params: Mapping[str, Any],
        *,
        sort_field: str,
        value: ValueOf,
        key: KeyOf,
        since: datetime | None,
        per_page: int,
        max_repairs: int = settings.MAX_REPAIRS,
        on_repair: Callable[[], None] | None = None,
        sizes: PageSizes | None = None,
        clock: PageTime | None = None,
        resume: ResumePoint | None = None,
    ) -> None:
        self.fetch = fetch
        self.params = dict(params)
        self.sort_field = sort_field
        self.value = value
        self.key = key
        self.since = since
        self.per_page = per_page
        self.max_repairs = max_repairs
        self.on_repair = on_repair
        self.sizes = sizes if sizes is not None else PageSizes()
        self.clock = clock
        self.result = ScanResult()
        self.resume = resume
        self._known: dict[int, datetime | None] = {}
        # The pass being read, its window and whether it is a tail read (for `checkpoint`).
        self._now: tuple[_Pass, datetime | None, bool] | None = None
        self._restart: datetime | None = since

    def checkpoint(self) -> ResumePoint:
        """Where this scan, stopped after the page it last handed on, goes on in a later process.

        The position is the highest value of the pass in progress when nothing disturbed it so far;
        otherwise (evidence of change, a flagged boundary, a tail read) the start of that pass.
        """
        if self._now is None:
            return self.resume or ResumePoint(at=self.since, restart=self.since)
        current, window, tail = self._now
        restart, pass_start = window, current.start
        if current.moved_range is not None:  # the first pass after an interruption: keep its check
            restart = self._restart
            pass_start = min(current.moved_range[0], pass_start) if pass_start else current.moved_range[0]
        highest = current.page_last[-1]
        current.settle()
        disturbed = tail or current.flags or current.evidence or current.broken or current.moved
        if disturbed or highest is None:
            return ResumePoint(
                at=restart,
                restart=restart,
                started=self.result.started,
                latest=self.result.latest,
                repairs=self.result.repairs,
            )
        return ResumePoint(
            at=highest - ONE_SECOND,
            restart=restart,
            started=self.result.started,
            pass_start=pass_start,
            last_page=current.page_time[-1] if current.page_time else None,
            latest=self.result.latest,
            repairs=self.result.repairs,
        )

    def __iter__(self) -> Iterator[Page]:
        window = self.since
        check: tuple[datetime, datetime] | None = None
        if self.resume is not None:
            point = self.resume
            window, self._restart = point.at, point.restart
            self.result.started, self.result.latest = point.started, point.latest
            self.result.repairs = point.repairs
            if point.pass_start is not None and point.last_page is not None:
                check = (_floor_second(point.pass_start), _floor_second(point.last_page) + ONE_SECOND)
        while True:
            main = _Pass(known=dict(self._known), moved_range=check, log=_KeyLog())
            self._now = (main, window, False)
            yield from self._pass(window, main)
            main.settle()
            self.result.served, self.result.promised = main.served, main.promised
            if main.broken:
                self._give_up(None)
                return
            if check is not None:
                check = None
                if main.moved:
                    # A row read before the interruption changed before its last committed page: rows
                    # behind it may have slid past a committed boundary. Read the interrupted pass again.
                    if self.result.repairs >= self.max_repairs:
                        self._give_up(self._restart)
                        return
                    self.result.repairs += 1
                    if self.on_repair is not None:
                        self.on_repair()
                    window = self._restart
                    logger.info(
                        "Rows moved before a resumed scan of %s; re-reading from %s",
                        self.params or "all rows",
                        window.isoformat() if window else "the start",
                    )
                    continue
            flags = list(main.flags)
            tail: _Pass | None = None
            if main.evidence and main.pages > 1 and main.start is not None:
                tail = _Pass()
                self._now = (main, window, True)
                yield from self._pass(main.start - ONE_SECOND, tail)
                flags.extend(self._tail_flags(main, tail))
            boundaries = [b for b in flags if 1 <= b < main.pages]
            if not boundaries and not self.result.complete:
                boundaries = [0]  # short of the count on its first page: read the same window again
            if not boundaries:
                self.result.consistent = True
                self.result.resume_from = self.result.started
                return
            # Only a repair pass reads what this one saw; a finished scan never copies it.
            # Later passes compare only rows changed since this pass began (see `_KeyLog.recent`).
            if tail is not None:
                self._known.update((k, v) for k, (_, v) in tail.first.items())
            if main.start is not None and main.log is not None:
                self._known.update(main.log.recent(main.start))
            first = min(boundaries)
            restart = main.page_last[first] if first else window
            if self.result.repairs >= self.max_repairs:
                self._give_up(restart)
                return
            self.result.repairs += 1
            if self.on_repair is not None:
                self.on_repair()
            if first:
                window = restart - ONE_SECOND if restart is not None else self.since
            logger.info(
                "%s while paging %s by %s; re-reading from %s",
                "Rows moved"
                if main.complete
                else f"Pages ran out after {main.served} of {main.promised} rows",
                self.params or "all rows",
                self.sort_field,
                window.isoformat() if window else "the start",
            )

    def _give_up(self, floor: datetime | None) -> None:
        self.result.consistent = False
        floor = floor if floor is not None else self.since
        started = self.result.started
        self.result.resume_from = min(floor, started) if floor is not None and started is not None else floor

    def _tail_flags(self, main: _Pass, tail: _Pass) -> list[int]:
        if tail.broken or tail.flags:
            return [1]
        flags: list[int] = []
        reads = main.log.first_reads(list(tail.first)) if main.log is not None else {}
        for key, (_, value) in tail.first.items():
            if key in main.known and main.known[key] == value:
                continue  # already read with this value by an earlier pass
            changed_after = _boundary_before(value, main.page_time) if value is not None else 1
            read = reads.get(key)
            if read is not None and read[1] != _micros(value):
                flags.append(max(read[0], changed_after))  # read, then changed: it left a gap
            else:
                flags.append(changed_after)  # changed or added before being read: may hide a deletion
        return flags

    def _pass(self, window: datetime | None, state: _Pass) -> Iterator[Page]:
        """Read from `window` to the end, recording in `state` what each page saw."""
        params = dict(self.params)
        params["sort"] = f"+{self.sort_field}"
        if window is not None:
            params["diff"] = f"{self.sort_field}>{format_diff_timestamp(window)}"
        with _NextPage(self.fetch) as reader:
            yield from self._pages(params, state, reader)

    def _pages(self, params: dict[str, Any], state: _Pass, reader: _NextPage) -> Iterator[Page]:
        prev_total: int | None = None
        max_total = 0
        size = self.sizes.size(self.per_page)
        offset = 0  # rows of this pass stepped over; every request starts a page there
        short: int | None = None  # size of a short page not yet known to be the last
        while True:
            page_no = state.pages + 1
            rows, answer = reader.get({**params, "page": offset // size + 1, "per_page": size})
            state.pages = page_no
            self.result.requests += 1
            self.result.rows += len(rows)
            self.result.total = answer.total
            self.result.note_answer(answer)
            if state.start is None:
                state.start = _floor_second(answer.server_time)
            state.page_time.append(answer.server_time)
            total = answer.total
            if prev_total is not None and total is not None and total != prev_total:
                state.evidence = True
                if total < prev_total:
                    state.flags.append(1)
            highest = state.page_last[-1]
            new_keys = 0
            log = state.log
            if log is not None:
                idents = self._logged(state, log, page_no, rows)
                highest = _later(highest, state.page_top)
                if total is None:  # without a count, a page of keys all read before ends the pass
                    new_keys = log.new_keys(idents)
            for row in rows if log is None else ():
                key = _ident(self.key(row))
                value = self.value(row)
                if key in state.first:
                    state.evidence = True
                else:
                    state.first[key] = (page_no, value)
                    new_keys += 1
                if value is not None:
                    if value >= state.start and state.known.get(key, _UNSEEN) != value:
                        state.evidence = True
                    if state.moved_range is not None and state.moved_range[0] <= value < state.moved_range[1]:
                        state.moved = True
                    if highest is None or value > highest:
                        highest = value
            state.page_last.append(highest)
            self.result.note_time(self.clock(rows) if self.clock is not None else highest)
            if total is not None:
                max_total = max(max_total, total)
            if short is not None and rows:
                self.sizes.learn(short, self.per_page)
            short = None
            asked = size
            offset += len(rows)
            state.served, state.promised = offset, total
            if self._continues(rows, asked, total, offset, page_no, max_total):
                # Certain to be the next requests while the count holds: ask for them while the caller
                # works on this page (and, in a chunked load, commits its chunk).
                assert total is not None
                ahead = min(settings.PREFETCH_PAGES, math.ceil((total - offset) / size))
                reader.prefetch(
                    [{**params, "page": offset // size + 1 + j, "per_page": size} for j in range(ahead)]
                )
            yield Page(rows, answer)
            if not rows:
                if total is not None and offset < total and page_no > 1:
                    state.flags.append(page_no - 1)  # pages ran out before the count: go on from here
                elif prev_total is not None and offset < prev_total:
                    state.flags.append(1)
                break
            if total is not None and offset >= total:
                break
            if len(rows) < asked:
                # Not the end unless the count or an empty next page says so: go on at the size served.
                short = len(rows)
                size = fitting_size(offset, len(rows))
            elif total is None and new_keys == 0:
                state.broken = True  # the server repeats pages: stop rather than loop
                break
            if total is not None and page_no >= math.ceil(max_total / size) + settings.EXTRA_PAGES_ALLOWED:
                state.broken = True
                break
            prev_total = total

    def _logged(self, state: _Pass, log: _KeyLog, page_no: int, rows: list[Row]) -> list[int]:
        """A main pass's bookkeeping of one page: what the row loop of a tail read does, column-wise.

        Records every key and value in `log`, sets the pass's evidence and `moved` flags as a row by row
        check would, and leaves the page's highest value in `state.page_top`; returns the keys.
        """
        idents = [_ident(key) for key in map(self.key, rows)]
        values = list(map(self.value, rows))
        log.add(page_no, idents, [_NO_VALUE if v is None else (v - _EPOCH) // _MICROSECOND for v in values])
        present = [v for v in values if v is not None]
        state.page_top = top = max(present) if present else None
        if top is None:
            return idents
        start = state.start
        assert start is not None  # set by the page's answer before its rows are looked at
        if not state.evidence and top >= start:
            known = state.known
            state.evidence = any(
                v is not None and v >= start and known.get(k, _UNSEEN) != v
                for k, v in zip(idents, values, strict=True)
            )
        if state.moved_range is not None and not state.moved:
            low, high = state.moved_range
            state.moved = any(low <= v < high for v in present)
        return idents

    def _continues(
        self, rows: list[Row], size: int, total: int | None, offset: int, page_no: int, max_total: int
    ) -> bool:
        """Whether the pass surely reads on after this page (see the stops in `_pages`)."""
        return (
            total is not None
            and len(rows) == size
            and offset < total
            and page_no < math.ceil(max_total / size) + settings.EXTRA_PAGES_ALLOWED
        )


def _boundary_before(changed_at: datetime, page_time: list[datetime]) -> int:
    """The first page boundary a change at `changed_at` can have disturbed (boundary b follows page b)."""
    for index, served in enumerate(page_time, start=1):
        if _floor_second(served) >= changed_at:
            return max(1, index - 1)
    return max(1, len(page_time))


@dataclass
class _Pass:
    """What one pass of an `AscendingScan` saw."""

    pages: int = 0
    start: datetime | None = None
    first: dict[int, tuple[int, datetime | None]] = field(default_factory=dict)
    page_last: list[datetime | None] = field(default_factory=lambda: [None])
    page_time: list[datetime] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    evidence: bool = False
    broken: bool = False
    known: dict[int, datetime | None] = field(default_factory=dict)
    served: int = 0
    promised: int | None = None
    # A resumed scan's first pass: rows changed in [start, last committed page) of the interrupted pass.
    moved_range: tuple[datetime, datetime] | None = None
    moved: bool = False
    # A main pass keeps what it read in this compact log instead of `first` (a tail read keeps `first`).
    log: _KeyLog | None = None
    # The highest value of the page just read (main passes).
    page_top: datetime | None = None

    def settle(self) -> None:
        """Add the evidence only the whole log shows: a key read twice in the pass."""
        if self.log is not None and not self.evidence and self.log.repeated():
            self.evidence = True

    @property
    def complete(self) -> bool:
        """Whether the pass read as many rows as its last answer's `X-Total-Count` promised."""
        return self.promised is None or self.served >= self.promised


_UNSEEN = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_VALUE = -(2**63)
_INT64 = (-(2**63), 2**63)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two values, either of which may be None."""
    if a is None:
        return b
    return a if b is None or a >= b else b


def _micros(value: datetime | None) -> int:
    """A row's value as microseconds since the epoch (`_NO_VALUE` for None)."""
    return _NO_VALUE if value is None else (value - _EPOCH) // _MICROSECOND


def _ident(key: Hashable) -> int:
    """A row's key as one 64-bit integer: exact for an id and for a pair of ids, else its hash.

    Prospect keys are ids and membership keys (campaign id, prospect id) pairs, which pack exactly; other
    keys (clicks name their URL) are hashed: two keys sharing a hash look like one key read twice, which
    costs a repair, never a row (the pass reads again).
    """
    if type(key) is int and _INT64[0] <= key < _INT64[1]:
        return key
    if (
        type(key) is tuple
        and len(key) == 2
        and type(key[0]) is int
        and type(key[1]) is int
        and 0 <= key[0] < 2**31
        and 0 <= key[1] < 2**32
    ):
        return (key[0] << 32) | key[1]
    return hash(key)


class _KeyLog:
    """Every key a pass read, with the page it was first read on and its value: 16 bytes per row.

    A dictionary of keys cost about 170 bytes per row, so the memory of a scan grew with the account;
    the log keeps one pair of 64-bit arrays per page and answers the few questions a pass asks at its end.
    """

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._pages: list[int] = []
        self._seen: set[int] | None = None
        self._merged: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, page_no: int, keys: list[int], values: list[int]) -> None:
        """Record the keys and values of one page."""
        if keys:
            self._keys.append(np.array(keys, dtype=np.int64))
            self._values.append(np.array(values, dtype=np.int64))
            self._pages.append(page_no)
            self._merged = None

    def new_keys(self, keys: list[int]) -> int:
        """Keys of the page just added that no earlier page had (kept only for servers without a count)."""
        if self._seen is None:
            self._seen = {int(k) for part in self._keys[:-1] for k in part}
        fresh = {k for k in keys if k not in self._seen}
        self._seen.update(fresh)
        return len(fresh)

    def _first(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unique keys (sorted), the page of their first read and the value then."""
        if self._merged is None:
            if not self._keys:
                empty = np.zeros(0, dtype=np.int64)
                self._merged = (empty, empty, empty)
            else:
                keys = np.concatenate(self._keys)
                values = np.concatenate(self._values)
                pages = np.repeat(np.array(self._pages, dtype=np.int64), [len(k) for k in self._keys])
                unique, index = np.unique(keys, return_index=True)  # index: the first occurrence
                self._merged = (unique, pages[index], values[index])
        return self._merged

    def repeated(self) -> bool:
        """Whether some key was read more than once."""
        return len(self._first()[0]) < sum(len(k) for k in self._keys)

    def first_reads(self, keys: list[int]) -> dict[int, tuple[int, int]]:
        """For each of `keys` read by the pass: the page it was first read on and its value then."""
        unique, pages, values = self._first()
        if not keys or not len(unique):
            return {}
        wanted = np.array(keys, dtype=np.int64)
        at = np.minimum(np.searchsorted(unique, wanted), len(unique) - 1)
        found = unique[at] == wanted
        return {
            int(k): (int(pages[i]), int(values[i])) for k, i, f in zip(wanted, at, found, strict=True) if f
        }

    def recent(self, start: datetime) -> dict[int, datetime | None]:
        """Keys first read with a value not older than `start`, with that value.

        A later pass only compares rows whose value is not older than its own start (later than this
        pass's), so the keys left out could never compare equal.
        """
        unique, _, values = self._first()
        mask = values >= _micros(start)
        return {
            int(k): _EPOCH + int(v) * _MICROSECOND for k, v in zip(unique[mask], values[mask], strict=True)
        }


class RecentScan:
    """The newest rows of a descending sort, down to `threshold` (rows below it are not returned).

    A first probe page of `probe_size` rows usually settles it in one small request; when every probed row
    is recent the scan continues with full pages from the top. Rows without a value are taken to sort
    last (the scan stops at them) unless they come first, in which case they are skipped. A change of
    `X-Total-Count` between pages (a deletion can make a row slide past a page boundary) restarts the scan
    from the top, up to `max_repairs` times. A page shorter than asked ends the scan only when the count
    is reached or the next page is empty; otherwise the scan goes on at the size the server served.

    Args:
        fetch: Reads one page: params → (rows, answer).
        params: Filters of every request (without `page`, `per_page`, `sort`).
        sort_field: Sort key, e.g. `last_contacted`, `last_replied`.
        value: The row's value of that key.
        key: The row's identity within the stream.
        threshold: Oldest value of interest.
        per_page: Page size after the probe.
        probe_size: Size of the first page.
        max_repairs: Restarts allowed.
        on_repair: Called once per restart.
        sizes: Page size learned so far in the run (shared between scans); a private one when None.
        clock: A timestamp the rows of a page carry, ideally their newest (for `result.latest`); the
            page's highest `value` when None.
    """

    def __init__(
        self,
        fetch: FetchPage,
        params: Mapping[str, Any],
        *,
        sort_field: str,
        value: ValueOf,
        key: KeyOf,
        threshold: datetime,
        per_page: int,
        probe_size: int = settings.PROBE_PAGE_SIZE,
        max_repairs: int = settings.MAX_REPAIRS,
        on_repair: Callable[[], None] | None = None,
        sizes: PageSizes | None = None,
        clock: PageTime | None = None,
    ) -> None:
        self.fetch = fetch
        self.params = dict(params)
        self.sort_field = sort_field
        self.value = value
        self.key = key
        self.threshold = threshold
        self.sizes = sizes if sizes is not None else PageSizes()
        self.per_page = per_page
        self.probe_size = min(probe_size, per_page)
        self.max_repairs = max_repairs
        self.on_repair = on_repair
        self.clock = clock
        self.result = ScanResult()

    def __iter__(self) -> Iterator[Page]:
        size = self.probe_size
        size = self.sizes.size(size)
        while True:
            disturbed = yield from self._pass(size)
            if not disturbed:
                self.result.consistent = True
                self.result.resume_from = self.result.started
                return
            if self.result.repairs >= self.max_repairs:
                self.result.consistent = False
                self.result.resume_from = None
                return
            self.result.repairs += 1
            if self.on_repair is not None:
                self.on_repair()
            size = self.sizes.size(self.per_page)

    def _pass(self, size: int) -> Generator[Page, None, bool]:
        params = {**self.params, "sort": f"-{self.sort_field}"}
        seen: set[Hashable] = set()
        full = self.sizes.size(self.per_page)
        offset = 0
        prev_total: int | None = None
        disturbed = False
        seen_value = False
        short: int | None = None
        probing = size < full
        while True:
            rows, answer = self.fetch({**params, "page": offset // size + 1, "per_page": size})
            self.result.requests += 1
            self.result.total = answer.total
            self.result.note_answer(answer)
            if prev_total is not None and answer.total is not None and answer.total != prev_total:
                disturbed = True
            prev_total = answer.total
            if short is not None and rows:
                self.sizes.learn(short, self.per_page)
                full = self.sizes.size(self.per_page)
            short = None
            keep: list[Row] = []
            reached_end = False
            repeated = bool(rows) and all(self.key(row) in seen for row in rows)
            seen.update(self.key(row) for row in rows)
            if self.clock is not None:
                self.result.note_time(self.clock(rows))
            for row in rows:
                value = self.value(row)
                if self.clock is None:
                    self.result.note_time(value)
                if value is None:
                    if seen_value:
                        reached_end = True
                        break
                    continue
                seen_value = True
                if value < self.threshold:
                    reached_end = True
                    break
                keep.append(row)
            self.result.rows += len(keep)
            yield Page(keep, answer)
            asked = size
            offset += len(rows)
            if reached_end or not rows or (repeated and size >= full):
                break
            if answer.total is not None and offset >= answer.total:
                break
            if len(rows) < asked:
                # Not the end unless the count or an empty next page says so: go on at the size served.
                short = len(rows)
                size = fitting_size(offset, len(rows))
                continue
            if probing:
                probing = False
                size, offset = full, 0  # everything probed was recent: continue with full pages
                continue
            if (
                answer.total is not None
                and offset // size >= answer.total // size + settings.EXTRA_PAGES_ALLOWED
            ):
                break
        return disturbed
