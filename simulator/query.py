"""`GET /rest/v1/prospects`: parameter validation, filtering, sorting and paging."""

from __future__ import annotations

import heapq
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import model
from .account import Account
from .model import SNIPPETS, TEXT_FIELDS, Campaign, Membership, Prospect

KNOWN_PARAMS = frozenset(
    {
        "page",
        "per_page",
        "sort",
        "id",
        "status",
        "contacted",
        "interested",
        "activity",
        "diff",
        "campaigns_id",
        "campaigns_details",
        "search",
    }
)
GLOBAL_STATUSES = frozenset(model.GLOBAL_STATUSES)
# The campaign-level filter also accepts BLACKLIST, the old docs' name for opted-out memberships.
CAMPAIGN_STATUSES = frozenset({*model.MEMBERSHIP_STATUSES, "BLACKLIST"})
INTEREST_FILTER = {
    "INTERESTED": "INTERESTED",
    "MAYBE-LATER": "MAYBE_LATER",
    "NOT-INTERESTED": "NOT_INTERESTED",
    "NOT-MARKED": "NOT_MARKED",
    "NOT_MARKED": "NOT_MARKED",
}
ACTIVITIES = frozenset({"OPENED", "NOT-OPENED", "CLICKED", "NOT-CLICKED"})
TRUE_WORDS = frozenset({"on", "yes", "true", "1"})
FALSE_WORDS = frozenset({"off", "no", "false", "0"})
LEGACY_SNIPPETS = ("snipet1", "snipet2", "snipet3", "snipet4")
SEARCH_FIELDS = frozenset({*TEXT_FIELDS, *SNIPPETS, "organization_id", *LEGACY_SNIPPETS})
# The documented sort fields: every searchable field but `linkedin_url`, plus the record's own.
SORT_FIELDS = frozenset(
    {
        *(SEARCH_FIELDS - {"linkedin_url"}),
        "id",
        "status",
        "updated",
        "last_contacted",
        "last_replied",
        "last_opened",
        "last_clicked",
        "sent_mails",
    }
)
DIFF_RE = re.compile(
    r"^(?:(updated|last_opened|last_clicked)>)?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4})$"
)
NEEDS_OPENED = "Wrong param, required activity=OPENED|NOT-OPENED"
NEEDS_CLICKED = "Wrong param, required activity=CLICKED|NOT-CLICKED"


class QueryError(Exception):
    """A parameter the API rejects with 400 E_WRONG_PARAM."""


@dataclass(slots=True)
class Row:
    """One row of a prospects answer: a prospect, maybe a membership, maybe one clicked link."""

    prospect: Prospect
    membership: Membership | None = None
    campaign: Campaign | None = None
    click_url: str | None = None
    click_ts: int | None = None

    @property
    def last_open(self) -> int | None:
        return self.membership.last_open if self.membership is not None else self.prospect.last_open

    @property
    def sent(self) -> int:
        return self.membership.sent if self.membership is not None else self.prospect.sent_mails

    @property
    def status(self) -> str:
        return self.membership.status if self.membership is not None else self.prospect.status

    def clicks(self) -> dict[str, int]:
        return self.membership.last_clicks if self.membership is not None else self.prospect.last_clicks


@dataclass(frozen=True)
class Query:
    """A validated prospects query (without paging)."""

    sort: tuple[tuple[str, bool], ...]
    ids: frozenset[int] | None
    status: str | None
    contacted: bool | None
    interested: str | None
    activity: str | None
    diff: tuple[str, int] | None
    campaigns: tuple[int, ...] | None
    details: bool
    search: tuple[str, str] | None


def _wrong(name: str, value: str) -> QueryError:
    return QueryError(f"Wrong param [{name}]={value}")


def _ints(name: str, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(",") if v.strip() != "")
    except ValueError:
        raise _wrong(name, value) from None


def parse_paging(params: Mapping[str, str]) -> tuple[int, int]:
    """`page` (1-based) and `per_page` (1..1000, default 100)."""
    page, per_page = params.get("page", "1"), params.get("per_page", "100")
    if not page.isdigit() or int(page) < 1:
        raise _wrong("page", page)
    if not per_page.isdigit() or not 1 <= int(per_page) <= 1000:
        raise _wrong("per_page", per_page)
    return int(page), int(per_page)


def parse(params: Mapping[str, str]) -> Query:
    """Validate the query string as the API does; raise `QueryError` with the documented message."""
    for name in params:
        if name not in KNOWN_PARAMS:
            raise QueryError(f"Unknown param:{name}")
    activity = params.get("activity")
    if activity is not None and activity not in ACTIVITIES:
        raise _wrong("activity", activity)
    campaigns = _ints("campaigns_id", params["campaigns_id"]) if "campaigns_id" in params else None
    status = params.get("status")
    if status is not None and status not in (CAMPAIGN_STATUSES if campaigns else GLOBAL_STATUSES):
        raise _wrong("status", status)
    contacted = None
    if "contacted" in params:
        word = params["contacted"].lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise _wrong("contacted", params["contacted"])
        contacted = word in TRUE_WORDS
    interested = None
    if "interested" in params:
        if params["interested"] not in INTEREST_FILTER:
            raise _wrong("interested", params["interested"])
        interested = INTEREST_FILTER[params["interested"]]
    diff = None
    if "diff" in params:
        match = DIFF_RE.match(params["diff"])
        if not match:
            raise _wrong("diff", params["diff"])
        kind = match.group(1) or "updated"
        if kind == "last_opened" and activity not in ("OPENED", "NOT-OPENED"):
            raise QueryError(NEEDS_OPENED)
        if kind == "last_clicked" and activity not in ("CLICKED", "NOT-CLICKED"):
            raise QueryError(NEEDS_CLICKED)
        diff = (kind, int(datetime.strptime(match.group(2), "%Y-%m-%dT%H:%M:%S%z").timestamp()))
    sort: list[tuple[str, bool]] = []
    for item in params.get("sort", "+id").split(","):
        token = item.strip()
        descending = token.startswith("-")
        name = token.lstrip("+-").strip()
        if name not in SORT_FIELDS:
            raise _wrong("sort", item)
        if name == "last_opened" and activity != "OPENED":
            raise QueryError(NEEDS_OPENED)
        if name == "last_clicked" and activity != "CLICKED":
            raise QueryError(NEEDS_CLICKED)
        if name == "sent_mails" and activity not in ("OPENED", "CLICKED"):
            raise _wrong("sort", item)
        sort.append((name, descending))
    details = False
    if "campaigns_details" in params:
        if params["campaigns_details"].lower() not in ("true", "false"):
            raise _wrong("campaigns_details", params["campaigns_details"])
        details = params["campaigns_details"].lower() == "true"
    search = None
    if "search" in params:
        field, sep, value = params["search"].partition("=")
        if not sep or field not in SEARCH_FIELDS:
            raise _wrong("search", params["search"])
        search = (field, value.lower())
    ids = frozenset(_ints("id", params["id"])) if "id" in params else None
    return Query(tuple(sort), ids, status, contacted, interested, activity, diff, campaigns, details, search)


def _text(p: Prospect, field: str) -> str:
    if field.startswith("snipet"):
        field = "snippet" + field[6:]
    if field == "organization_id":
        return str(p.organization_id)
    return p.fields[field]


def _changed_since(q: Query) -> Callable[[Prospect | Membership], bool] | None:
    """For a `diff=` query, whether a prospect or membership has a value after it, else None.

    Rows failing it fail the query's own `diff` filter too (`_keep`), so leaving them out before the
    rows are built changes no answer; an incremental query then costs what it returns, as with an index.
    """
    if q.diff is None:
        return None
    kind, since = q.diff
    if kind == "updated":
        return None  # a prospect's own field: `_expand` filters the prospects themselves
    if kind == "last_opened":
        return lambda record: record.last_open is not None and record.last_open > since
    return lambda record: any(ts > since for ts in record.last_clicks.values())


def _expand(account: Account, q: Query) -> list[Row]:
    rows: list[Row] = []
    wanted = set(q.campaigns) if q.campaigns is not None else None
    prospects: Any = account.prospects.values()
    if q.ids is not None:
        prospects = [account.prospects[i] for i in q.ids if i in account.prospects]
    if q.diff is not None and q.diff[0] == "updated":
        since = q.diff[1]
        prospects = [p for p in prospects if p.updated > since]
    changed = _changed_since(q)
    if wanted is None and q.interested is None:
        if changed is not None:
            prospects = [p for p in prospects if changed(p)]
        return _clicked([Row(p) for p in prospects], q)
    # The memberships `memberships_of` gives, read straight from the account's index (kept in step with
    # `memberships`) in any order: `_order` sorts the rows completely.
    campaigns, by_prospect = account.campaigns, account.by_prospect
    for p in prospects:
        for cid, ms in by_prospect.get(p.id, {}).items():
            if wanted is not None and cid not in wanted:
                continue
            camp = campaigns.get(cid)
            if camp is None or (q.interested is not None and ms.interest != q.interested):
                continue
            if changed is not None and not changed(ms):
                continue
            rows.append(Row(p, ms, camp))
    return _clicked(rows, q)


def _clicked(rows: list[Row], q: Query) -> list[Row]:
    """One row per clicked link for `activity=CLICKED`, else the rows as they are."""
    if q.activity == "CLICKED":
        return [
            Row(r.prospect, r.membership, r.campaign, url, ts) for r in rows for url, ts in r.clicks().items()
        ]
    return rows


def _keep(q: Query) -> Callable[[Row], bool] | None:
    """The row filter of a query, or None when the query filters nothing."""
    if (
        q.status is None
        and q.contacted is None
        and q.activity not in ("OPENED", "NOT-OPENED", "NOT-CLICKED")
        and q.search is None
        and q.diff is None
    ):
        return None

    def keep(r: Row) -> bool:
        p = r.prospect
        if q.status is not None and r.status != q.status:
            return False
        if q.contacted is not None and (r.sent > 0) != q.contacted:
            return False
        if q.activity == "OPENED" and r.last_open is None:
            return False
        if q.activity == "NOT-OPENED" and r.last_open is not None:
            return False
        if q.activity == "NOT-CLICKED" and r.clicks():
            return False
        if q.search is not None and q.search[1] not in _text(p, q.search[0]).lower():
            return False
        if q.diff is not None:
            kind, since = q.diff
            value = {"updated": p.updated, "last_opened": r.last_open, "last_clicked": r.click_ts}[kind]
            if value is None or value <= since:
                return False
        return True

    return keep


def _missing_first(value: int | None) -> int:
    return -1 if value is None else value


# Sort keys of the timestamp and counter fields; the text fields sort case-insensitively (`_sort_key`).
_SORT_KEYS: dict[str, Callable[[Row], Any]] = {
    "id": lambda r: r.prospect.id,
    "status": lambda r: r.status,
    "updated": lambda r: r.prospect.updated,
    "last_contacted": lambda r: _missing_first(r.prospect.last_contacted),
    "last_replied": lambda r: _missing_first(r.prospect.last_replied),
    "last_opened": lambda r: _missing_first(r.last_open),
    "last_clicked": lambda r: _missing_first(r.click_ts),
    "sent_mails": lambda r: r.sent,
    "organization_id": lambda r: r.prospect.organization_id,
}


def _sort_key(name: str) -> Callable[[Row], Any]:
    key = _SORT_KEYS.get(name)
    if key is not None:
        return key
    return lambda r: _text(r.prospect, name).lower()


def _order(rows: list[Row], sort: tuple[tuple[str, bool], ...], plain: bool) -> list[Row]:
    """Sort by the requested keys; ties fall back to (prospect id, campaign id, clicked link).

    `plain` rows (one per prospect) tie-break on the prospect id alone, and a sort by id needs no
    tie-break at all: a million-row answer is then one sort instead of two.
    """
    if plain and sort and sort[-1][0] == "id":
        sort_keys = sort
    else:
        if plain:
            rows.sort(key=_SORT_KEYS["id"])
        else:
            rows.sort(key=lambda r: (r.prospect.id, r.campaign.id if r.campaign else 0, r.click_url or ""))
        sort_keys = sort
    for name, descending in reversed(sort_keys):
        rows.sort(key=_sort_key(name), reverse=descending)
    return rows


def _first_rows(rows: list[Row], sort: tuple[tuple[str, bool], ...], plain: bool, need: int) -> list[Row]:
    """At least the first `need` rows of `_order(rows, …)`, in that order, without sorting them all.

    Every row among the first `need` has a first sort key no worse than the `need`-th best value of
    it, so the rows at or above that value (ties included) hold them all, and ordered alike they are
    the same leading rows.
    """
    name, descending = sort[0]
    key = _sort_key(name)
    values = [key(r) for r in rows]
    if descending:
        edge = heapq.nlargest(need, values)[-1]
        leading = [r for r, v in zip(rows, values, strict=True) if v >= edge]
    else:
        edge = heapq.nsmallest(need, values)[-1]
        leading = [r for r, v in zip(rows, values, strict=True) if v <= edge]
    return _order(leading, sort, plain)


@dataclass(slots=True)
class _Answer:
    """The sorted rows of a query read so far: all of them, or the leading ones when `total` is larger."""

    rows: list[Row]
    total: int


class QueryCache:
    """Sorted result rows per (query, data version), so paging a large result stays cheap.

    A query asked first for a page near its start sorts only the rows up to that page (`_first_rows`):
    the change streams read the newest hundred rows of the whole account, run after run. The first page
    past them sorts the whole result, once, for the rest of the scan.
    """

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[tuple[Query, int], _Answer] = OrderedDict()
        self._size = size
        # The rows of the latest expansions per data version (a whole load makes up to four: prospects,
        # memberships, memberships with their clicked links, one campaign's): the change streams of the
        # next run expand the same records with other filters and sorts.
        self._expansions: OrderedDict[tuple[Any, ...], list[Row]] = OrderedDict()

    def page(self, account: Account, q: Query, page: int, per_page: int) -> tuple[list[Row], int]:
        """One page of the query's sorted rows, and how many rows the whole answer has."""
        need = page * per_page
        with account.lock:
            key = (q, account.version)
            cached = self._items.get(key)
            if cached is None or (len(cached.rows) < need and len(cached.rows) < cached.total):
                # A page past the leading rows read so far: a scan goes on, so sort the whole answer.
                cached = self._answer(account, q, need if cached is None else None)
                self._items[key] = cached
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(key)
            return cached.rows[need - per_page : need], cached.total

    def _expanded(self, account: Account, q: Query) -> list[Row]:
        """The query's rows before its filters; shared by the queries that expand alike."""
        if q.diff is not None:
            return _expand(account, q)  # already narrowed to the changed rows: small
        key = (account.version, q.ids, q.campaigns, q.interested, q.activity == "CLICKED")
        rows = self._expansions.get(key)
        if rows is None:
            rows = _expand(account, q)
            self._expansions[key] = rows
            while len(self._expansions) > 4:
                self._expansions.popitem(last=False)
        return rows

    def _answer(self, account: Account, q: Query, need: int | None) -> _Answer:
        """The query's rows sorted: all of them, or at least the first `need` when far fewer than all."""
        keep = _keep(q)
        expanded = self._expanded(account, q)
        # A new list either way: `_order` sorts in place, and the expansion is shared.
        rows = [r for r in expanded if keep(r)] if keep is not None else list(expanded)
        plain = q.campaigns is None and q.interested is None and q.activity != "CLICKED"
        total = len(rows)
        if q.sort and need is not None and 4 * need < total:
            return _Answer(_first_rows(rows, q.sort, plain, need), total)
        return _Answer(_order(rows, q.sort, plain), total)
