"""Shared run context and small helpers of the Woodpecker resources."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import methodcaller
from typing import Any, TypeVar

import dlt

from . import settings
from .chunks import LoadChunks, ResourceState
from .client import Answer, WoodpeckerClient
from .jsontext import dumps
from .normalise import as_int, parse_timestamp, prospect_value
from .paging import FetchPage, PageSizes, Row, ScanResult
from .progress import shortfall_text

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class SourceOptions:
    """Source arguments that steer what the resources read (see `woodpecker_source`)."""

    reconcile: bool | None = None
    reconcile_every_days: float = settings.DEFAULT_RECONCILE_EVERY_DAYS
    lag_seconds: float = settings.DEFAULT_LAG_SECONDS
    activity_lookback_hours: float = settings.DEFAULT_ACTIVITY_LOOKBACK_HOURS
    stats_max_age_hours: float = settings.DEFAULT_STATS_MAX_AGE_HOURS
    per_page: int = settings.DEFAULT_PER_PAGE

    @property
    def lag(self) -> timedelta:
        """Overlap subtracted from every cursor (clock skew, second resolution)."""
        return timedelta(seconds=self.lag_seconds)

    @property
    def lookback(self) -> timedelta:
        """How far back the bounce stream looks (bounces arrive after the send)."""
        return timedelta(hours=self.activity_lookback_hours)


# Every time field a `GET /rest/v1/prospects` row may carry, as the API names them (activity rows add
# the open or click time).
PAGE_TIME_FIELDS = ("updated", "last_contacted", "last replied", "last_replied", "last_open", "last_clicked")
ONE_SECOND = timedelta(seconds=1)


def page_time(rows: list[Row]) -> datetime | None:
    """A timestamp the page's rows carry, close to their newest: the data's clock had reached it.

    Per field, the text that sorts last is parsed (one parse per field and page, not per row). Texts
    with different UTC offsets do not sort by time, so this can be up to an offset change earlier than
    the newest timestamp, never later: it is a value some row carries.
    """
    first = rows[0] if rows else None
    if not isinstance(first, dict):
        return None
    newest: datetime | None = None
    for name in PAGE_TIME_FIELDS:
        if name not in first:  # the API sends the same fields in every row of a list
            continue
        try:
            text = max(filter(None, map(methodcaller("get", name), rows)), default="")
        except (AttributeError, TypeError):  # a row that is no object, a value that is no text
            text = max(
                (v for row in rows if isinstance(row, dict) and isinstance(v := row.get(name), str)),
                default="",
            )
        value = prospect_value({name: text}, name) if text else None
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest


def data_bound(result: ScanResult, previous: datetime | None) -> datetime | None:
    """The latest a cursor may be after a scan so that it is not ahead of the data.

    The data's clock had reached `result.latest` by the scan's last answer, so when the scan began it
    stood at least at `latest` minus the scan's duration (measured on the API's clock, which may be
    offset from the data's but runs at its pace); one second is added for the data's second resolution
    (the lag takes it off again). A previous cursor is a bound too: the data's clock had passed it.

    Args:
        result: The finished scan.
        previous: The stream's cursor before this run (None on its first run).

    Returns:
        The bound, or None when neither the data nor a previous cursor gives one.
    """
    bounds = [previous] if previous is not None else []
    if result.latest is not None and result.started is not None and result.ended is not None:
        bounds.append(result.latest - (result.ended - result.started) + ONE_SECOND)
    return max(bounds) if bounds else None


def utc_now() -> datetime:
    """Local time in UTC (used for `_fetched_at`, snapshot ages and reconciliation start times)."""
    return datetime.now(UTC)


def row_hash(row: Mapping[str, Any]) -> str:
    """A short, stable fingerprint of an API object (keys sorted)."""
    return hashlib.sha1(dumps(row, sort_keys=True)).hexdigest()[:16]


def chunk_ids(ids: Sequence[int], max_chars: int = settings.CAMPAIGN_IDS_MAX_URL_CHARS) -> list[list[int]]:
    """Split ids so each comma-joined, URL-encoded list (`%2C` separators) stays within `max_chars`."""
    chunks: list[list[int]] = []
    current: list[int] = []
    length = 0
    for campaign_id in ids:
        cost = len(str(campaign_id)) + (3 if current else 0)
        if current and length + cost > max_chars:
            chunks.append(current)
            current, length = [], 0
            cost = len(str(campaign_id))
        current.append(campaign_id)
        length += cost
    if current:
        chunks.append(current)
    return chunks


def join_ids(ids: Sequence[int]) -> str:
    """`1,2,3` for a `campaigns_id=` / `id=` filter."""
    return ",".join(str(i) for i in ids)


def as_datetime(value: Any) -> datetime | None:
    """A cursor read back from state (a datetime, or an ISO string from older state) as aware UTC."""
    if value is None or value == "":
        return None
    return parse_timestamp(value)


def earliest(values: Sequence[datetime | None]) -> datetime | None:
    """The earliest of the non-None values (None when there are none)."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _part(value: Any) -> Hashable:
    """A key part that can go into a set even when a malformed answer sends a list or an object."""
    return value if isinstance(value, Hashable) else dumps(value, sort_keys=True)


def field_of(row: Any, name: str) -> Any:
    """A field of a list row; None when the row is not a JSON object (a malformed answer)."""
    if type(row) is dict:  # the usual case, once per row of several scans: no ABC check
        return row.get(name)
    return row.get(name) if isinstance(row, Mapping) else None


def _key(row: Any, *fields: str) -> Hashable:
    """Identity of a list row by `fields`; a row that is not a JSON object is its own identity."""
    if not isinstance(row, Mapping):
        return ("not an object", _part(row))
    parts = tuple(_part(row.get(name)) for name in fields)
    return parts[0] if len(parts) == 1 else parts


def membership_key(row: Mapping[str, Any]) -> Hashable:
    """Identity of a `campaigns_id=` row: (campaign id, prospect id)."""
    if type(row) is dict:  # the usual case, once per row of every membership scan
        campaign, prospect = row.get("campaign_id"), row.get("id")
        if type(campaign) is int and type(prospect) is int:
            return campaign, prospect
    return _key(row, "campaign_id", "id")


def click_key(row: Mapping[str, Any]) -> Hashable:
    """Identity of an `activity=CLICKED` row: (campaign id, prospect id, url)."""
    return _key(row, "campaign_id", "id", "click_url")


def prospect_key(row: Mapping[str, Any]) -> Hashable:
    """Identity of a prospect row."""
    if type(row) is dict and type(value := row.get("id")) is int:
        return value  # the usual case, once per row of every scan
    return _key(row, "id")


@dataclass
class RunContext:
    """What the resources of one source run share: the client, the campaign list and what changed.

    Resources run one after another in `fifo` mode, so a later resource sees what earlier ones recorded
    (e.g. `campaign_stats` sees the campaigns touched by membership changes). A source object reused for a
    second run resets the context when a resource starts for the second time. In a chunked load
    (`chunks`) one context serves every chunk of the load and is never reset.
    """

    client: WoodpeckerClient
    options: SourceOptions
    chunks: LoadChunks | None = None
    run_started: datetime = field(default_factory=utc_now)
    changed_campaigns: set[int] = field(default_factory=set)
    touched_campaigns: set[int] = field(default_factory=set)
    sizes: PageSizes = field(default_factory=PageSizes)
    _campaigns: tuple[list[Row], Answer] | None = None
    _begun: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.sizes.on_learn = self._page_size_learned

    def _page_size_learned(self, served: int, asked: int) -> None:
        self.client.stats.add_note(
            f"the API serves at most {served} rows per page (asked for {asked}); pages were read at that size"
        )

    def begin(self, resource: str) -> None:
        """Mark `resource` as started; a repeated start means a new run, which clears the shared data.

        An earlier run's record that `resource` was left incomplete is cleared: this run reads it again
        and records a shortfall anew if there still is one.
        """
        if resource in self._begun:
            if self.chunks is not None:
                return  # the next chunk of the same load
            self._begun.clear()
            self._campaigns = None
            self.changed_campaigns.clear()
            self.touched_campaigns.clear()
            self.run_started = utc_now()
        self._begun.add(resource)
        incomplete = dlt.current.source_state().get("incomplete")
        if isinstance(incomplete, dict):
            incomplete.pop(resource, None)

    def cursor_after(
        self, result: ScanResult, resume: datetime | None, previous: datetime | None
    ) -> datetime | None:
        """A stream's next cursor: where its scan says to resume, never ahead of the data it read.

        `resume` comes from the API's clock (`Date`), which can run ahead of the clock that stamps the
        data; `data_bound` keeps the cursor behind the data. Data ahead of the API's clock is recorded
        for the run summary.

        Args:
            result: The stream's finished scan.
            resume: Where the scan says the next run may resume (None: nowhere safe).
            previous: The stream's cursor before this run.

        Returns:
            The cursor, or None when the scan gives no safe point (the next run starts over).
        """
        if result.latest is not None and result.ended is not None:
            ahead = (result.latest - result.ended).total_seconds()
            if ahead > 0:
                self.client.stats.note_clock_ahead(ahead)
        if resume is None:
            return None
        bound = data_bound(result, previous)
        return min(resume, bound) if bound is not None else None

    def pages(self, resource: str, make: Callable[[MutableMapping[str, Any]], Iterator[T]]) -> Iterator[T]:
        """The items `resource` reads this run: all of them, or in a chunked load this chunk's share.

        Args:
            resource: The resource reading.
            make: Starts the resource's stream given the state it keeps its cursors in.
        """
        if self.chunks is None:
            return make(dlt.current.resource_state())
        return self.chunks.items(resource, lambda: make(ResourceState(resource)))

    def on_pause(self, resource: str, save: Callable[[], None] | None) -> None:
        """In a chunked load, how `resource` writes its position to state when a chunk pauses it."""
        if self.chunks is not None:
            self.chunks.on_pause(resource, save)

    def restore_shortfall(self, table: str, missing: int) -> None:
        """Record again a shortfall that a killed load found before its last committed chunk."""
        if missing > 0:
            self.client.stats.add_shortfall(table, missing)
            state = dlt.current.source_state()
            state.setdefault("incomplete", {})[table] = shortfall_text(self.client.stats.shortfalls[table])

    def check_complete(self, table: str, result: ScanResult, params: Mapping[str, Any]) -> bool:
        """Compare what a scan read with the API's count; record a shortfall for the summary and status.

        Returns:
            Whether the scan read every row the API counted.
        """
        if result.complete or result.promised is None:
            return True
        self.client.stats.add_shortfall(table, result.promised - result.served)
        logger.warning(
            "%s: pages ran out at %d of the %d rows the API counted (%s)",
            table,
            result.served,
            result.promised,
            ", ".join(f"{k}={v}" for k, v in params.items() if k != "campaigns_id") or "all rows",
        )
        state = dlt.current.source_state()
        state.setdefault("incomplete", {})[table] = shortfall_text(self.client.stats.shortfalls[table])
        return False

    def fetcher(self, resource: str) -> FetchPage:
        """A page reader of `GET /rest/v1/prospects` counted under `resource`."""

        def fetch(params: Mapping[str, Any]) -> tuple[list[Row], Answer]:
            return self.client.prospects_page(params, resource)

        return fetch

    def campaign_list(self, resource: str) -> tuple[list[Row], Answer]:
        """The full v1 campaign list, requested once per run whichever resource asks first."""
        if self._campaigns is None:
            self._campaigns = self.client.campaign_list(resource)
        return self._campaigns

    def campaign_ids(self, resource: str) -> list[int]:
        """Ids of every campaign the account lists this run, ascending."""
        rows, _ = self.campaign_list(resource)
        return sorted({int(row["id"]) for row in rows})

    def touch(self, campaign_ids: Iterable[Any]) -> None:
        """Record campaigns whose memberships, opens or clicks changed, for `campaign_stats`.

        The ids are also kept in source state until their statistics are read, so a campaign touched
        after `campaign_stats` ran (round-robin extraction) gets fresh statistics on the next run.
        """
        ids = (as_int(c) for c in campaign_ids)
        fresh = {c for c in ids if c is not None} - self.touched_campaigns
        if not fresh:
            return
        self.touched_campaigns.update(fresh)
        state = dlt.current.source_state()
        state["stats_due"] = sorted(set(state.get("stats_due") or []) | fresh)

    def stats_due(self) -> set[int]:
        """Campaigns touched in this run or touched earlier and not yet refreshed."""
        return set(self.touched_campaigns) | set(dlt.current.source_state().get("stats_due") or [])

    def stats_read(self, campaign_id: int) -> None:
        """Forget a pending refresh once the statistics were read."""
        state = dlt.current.source_state()
        state["stats_due"] = [c for c in state.get("stats_due") or [] if c != campaign_id]

    def full_scan_due(self, table: str, has_cursor: bool) -> bool:
        """Whether `table` is read in full this run: first run, `reconcile=True`, or by schedule."""
        if not has_cursor or self.options.reconcile is True:
            return True
        if self.options.reconcile is False:
            return False
        last = last_full_scan(table)
        if last is None:
            return True
        return utc_now() - last >= timedelta(days=self.options.reconcile_every_days)


def reconcile_state() -> MutableMapping[str, Any]:
    """The source-state section where full scans are recorded for reconciliation."""
    state = dlt.current.source_state()
    section: MutableMapping[str, Any] = state.setdefault("reconcile", {})
    return section


def last_full_scan(table: str) -> datetime | None:
    """When the last full scan of `table` started (local UTC), from source state."""
    record = reconcile_state().get(table)
    return as_datetime(record.get("started_at")) if record else None


def last_full_scan_rows(table: str) -> int | None:
    """Rows the last full scan of `table` read (None when not recorded)."""
    record = reconcile_state().get(table)
    rows = record.get("rows") if record else None
    return rows if isinstance(rows, int) else None


def record_full_scan(table: str, started_at: datetime, consistent: bool, rows: int | None = None) -> None:
    """Remember a finished full scan; a consistent one lets the pipeline flag rows not seen since it began.

    Args:
        table: The table scanned.
        started_at: Local UTC time the scan started.
        consistent: Every pass settled and read every row the API counted.
        rows: Rows the scan read, for the next full scan's size check (None: not recorded).
    """
    record: dict[str, Any] = {"started_at": started_at.isoformat(), "consistent": bool(consistent)}
    if rows is not None:
        record["rows"] = rows
    reconcile_state()[table] = record
    logger.info("Full scan of %s finished (%s)", table, "consistent" if consistent else "inconsistent")
