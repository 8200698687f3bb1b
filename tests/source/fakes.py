"""An in-memory stand-in for `GET /rest/v1/prospects` paging, to test the scans without HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sources.woodpecker.client import Answer

T0 = datetime(2025, 4, 15, 9, 0, tzinfo=UTC)


@dataclass
class FakeProspects:
    """Rows `{id, updated, last_contacted}` served like the API: sorted, filtered by `diff`, paged by number.

    `step_seconds` moves the clock after each answer (0 = a frozen clock, as in a simulator that is not
    advanced); `before_page(fake, request_no)` may mutate the data before an answer is built.
    """

    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    now: datetime = T0
    step_seconds: int = 1
    before_page: Callable[[FakeProspects, int], None] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1

    @classmethod
    def with_rows(cls, count: int, same_second_every: int = 7, **kwargs: Any) -> FakeProspects:
        fake = cls(**kwargs)
        for i in range(count):
            # several rows share one `updated` second (bulk imports)
            fake.add(T0 - timedelta(days=30) + timedelta(seconds=(i // same_second_every) * 60))
        return fake

    def add(self, updated: datetime | None = None) -> int:
        new_id = self.next_id
        self.next_id += 1
        value = updated or self.now
        self.rows[new_id] = {"id": new_id, "updated": value, "last_contacted": value}
        return new_id

    def edit(self, prospect_id: int) -> None:
        self.rows[prospect_id]["updated"] = self.now

    def touch(self, prospect_id: int, field_name: str = "last_contacted") -> None:
        self.rows[prospect_id][field_name] = self.now

    def delete(self, prospect_id: int) -> None:
        del self.rows[prospect_id]

    def fetch(self, params: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Answer]:
        self.requests.append(dict(params))
        if self.before_page is not None:
            self.before_page(self, len(self.requests))
        sort = str(params.get("sort", "+id"))
        descending = sort.startswith("-")
        sort_field = sort.lstrip("+-")
        rows = list(self.rows.values())
        diff = params.get("diff")
        if diff:
            name, _, stamp = str(diff).partition(">")
            since = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
            rows = [r for r in rows if r[name] > since]
        if descending:
            rows.sort(key=lambda r: (-r[sort_field].timestamp(), r["id"]))
        else:
            rows.sort(key=lambda r: (r[sort_field], r["id"]))
        page, per_page = int(params["page"]), int(params["per_page"])
        chunk = rows[(page - 1) * per_page : page * per_page]
        served = [
            {
                "id": r["id"],
                "updated": r["updated"].isoformat(),
                "last_contacted": r["last_contacted"].isoformat(),
            }
            for r in chunk
        ]
        answer = Answer(200, served, len(rows), datetime.now(UTC), self.now)
        self.now += timedelta(seconds=self.step_seconds)
        return served, answer
