"""`SimulatorConfig`: everything that shapes a simulated account and its server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_API_KEY = "woodpecker-sim-key"
NO_ADDON_API_KEY = "woodpecker-sim-no-addon"
DEFAULT_START = datetime(2025, 4, 15, 9, 0, 0, tzinfo=UTC)

FAULT_KINDS = (
    "throttle",
    "throttle400",
    "error500",
    "bad_gateway",
    "unavailable",
    "slow",
    "drop",
    "truncated",
)


@dataclass
class SimulatorConfig:
    """Settings of one simulated Woodpecker account and its HTTP server.

    Attributes:
        seed: Seed of the generated account; the same seed gives the same account.
        prospects: Prospects generated (live ones; a small share is additionally generated as deleted).
        campaigns: Campaigns generated (every status is represented once there are at least six).
        avg_memberships: Average number of campaigns per enrolled prospect (capped by `campaigns`).
        api_key: The valid key (the client company's own key).
        agency_key: An agency's key that also opens this account when the request names `company_id` in
            the `x-company-id` header; None: the account belongs to no agency.
        company_id: The account's client-company id under `agency_key`.
        timezone: Account time zone; v1 timestamps are rendered with its offset.
        start: Virtual "now" when the simulator starts; the history reaches ~120 days back.
        auto_bumps_updated: When true, automatic events (sent, open, click, reply, autoreply, bounce,
            opt-out, invalid) also move a prospect's `updated`.
        rate_limit: "reject" answers an overlapping request at once with the throttling error; "queue"
            lets up to 6 wait up to 15 s each.
        latency_s: Sleep per request (real seconds).
        row_latency_s: Sleep per row served (real seconds).
        unsupported_share: Share of campaigns whose v2 GET answers 409 API_UNSUPPORTED_CAMPAIGN_FEATURES.
        fault_rate: Probability of a random fault per request.
        fault_seed: Seed of the random faults.
        fault_kinds: Kinds drawn in random mode.
        slow_fault_s: How long a `slow` fault holds the answer.
        queue_max_wait_s: How long a queued request waits for its turn in "queue" mode.
        history_days: How far back the generated history reaches.
        port: Port to bind on 127.0.0.1 (0 = ephemeral).
        firm_id: The account's `firm_id` in webhook payloads.
        webhook_retry_base_s: First wait (real seconds) before a failed webhook POST is repeated; each
            further failure of the same pair doubles it.
        webhook_retry_max_s: Longest wait between two webhook attempts.
        webhook_max_failures: Failures in a row after which a pair is unsubscribed (0 = never).
        webhook_timeout_s: How long a webhook POST waits for the receiver's answer.
        page_size_cap: Most rows one `GET /rest/v1/prospects` page serves, whatever `per_page` asks
            (pages are numbered at the capped size); None: the documented 1000.
        total_count: Whether list answers carry `X-Total-Count`.
        overcount: Rows `X-Total-Count` counts beyond those the list serves (a count the pages never
            reach).
        date_header: Whether answers carry a `Date` header.
        date_skew_s: Seconds the `Date` header runs ahead of the account's clock (negative: behind);
            the timestamps in the data keep the account's clock.
        extra_prospect_field: Name of an undocumented text field every prospect object carries, as
            when the API adds a field (its value: `render.extra_field_value`); None: no such field.
    """

    seed: int = 7
    prospects: int = 1000
    campaigns: int = 10
    avg_memberships: float = 3.0
    api_key: str = DEFAULT_API_KEY
    agency_key: str | None = None
    company_id: int = 1
    timezone: str = "Europe/Warsaw"
    start: datetime = DEFAULT_START
    history_days: int = 120
    auto_bumps_updated: bool = False
    rate_limit: str = "reject"
    latency_s: float = 0.0
    row_latency_s: float = 0.0
    unsupported_share: float = 0.15
    fault_rate: float = 0.0
    fault_seed: int = 0
    fault_kinds: tuple[str, ...] = field(default=FAULT_KINDS)
    slow_fault_s: float = 5.0
    queue_max_wait_s: float = 15.0
    port: int = 0
    firm_id: int = 456_789
    webhook_retry_base_s: float = 1.0
    webhook_retry_max_s: float = 60.0
    webhook_max_failures: int = 0
    webhook_timeout_s: float = 10.0
    page_size_cap: int | None = None
    total_count: bool = True
    overcount: int = 0
    date_header: bool = True
    date_skew_s: float = 0.0
    extra_prospect_field: str | None = None

    def __post_init__(self) -> None:
        if self.rate_limit not in ("reject", "queue"):
            raise ValueError(f"rate_limit must be 'reject' or 'queue', not {self.rate_limit!r}")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if self.prospects < 0 or self.campaigns < 0:
            raise ValueError("prospects and campaigns must not be negative")
        if self.start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self.fault_kinds = tuple(self.fault_kinds)
        if self.page_size_cap is not None and not 1 <= self.page_size_cap <= 1000:
            raise ValueError("page_size_cap must be between 1 and 1000")
        if self.overcount < 0:
            raise ValueError("overcount must not be negative")
