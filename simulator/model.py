"""Records of the simulated account: prospects, campaigns, memberships and the event log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "industry",
    "website",
    "linkedin_url",
    "tags",
    "title",
    "phone",
    "address",
    "city",
    "state",
    "country",
)
SNIPPETS = tuple(f"snippet{i}" for i in range(1, 16))
WRITABLE_FIELDS = (*TEXT_FIELDS, *SNIPPETS)

GLOBAL_STATUSES = ("ACTIVE", "BOUNCED", "REPLIED", "BLACKLIST", "INVALID")
MEMBERSHIP_STATUSES = (
    "ACTIVE",
    "PAUSED",
    "TO-CHECK",
    "REPLIED",
    "AUTOREPLIED",
    "BOUNCED",
    "INVALID",
    "OPT-OUT",
    "COMPLETED",
)
INTERESTS = ("INTERESTED", "MAYBE_LATER", "NOT_INTERESTED", "NOT_MARKED")
CAMPAIGN_STATUSES = ("RUNNING", "PAUSED", "COMPLETED", "DRAFT", "EDITED", "STOPPED")

# Event types of the log.
SENT = "SENT"
OPENED = "OPENED"
CLICKED = "CLICKED"
REPLIED = "REPLIED"
AUTOREPLIED = "AUTOREPLIED"
BOUNCED = "BOUNCED"
OPTED_OUT = "OPTED_OUT"
INVALID = "INVALID"
INTEREST = "INTEREST"
AUTOMATIC_EVENTS = frozenset({SENT, OPENED, CLICKED, REPLIED, AUTOREPLIED, BOUNCED, OPTED_OUT, INVALID})
# A membership whose latest terminal event is one of these stops receiving emails.
TERMINAL = {REPLIED: "REPLIED", BOUNCED: "BOUNCED", OPTED_OUT: "OPT-OUT", INVALID: "INVALID"}


@dataclass(slots=True)
class Prospect:
    """A prospect of the global base."""

    id: int
    fields: dict[str, str]
    organization_id: int
    encrypted: bool
    snippet_labels: dict[str, str]
    created: int
    updated: int
    last_contacted: int | None = None
    last_replied: int | None = None
    manual_status: str | None = None
    bounced: bool = False
    replied: bool = False
    invalid: bool = False
    opted_out: bool = False
    last_open: int | None = None
    last_clicks: dict[str, int] = field(default_factory=dict)
    sent_mails: int = 0
    version: int = 0

    @property
    def status(self) -> str:
        """Global status; precedence: blacklist, invalid, bounced, replied, active."""
        if self.manual_status:
            return self.manual_status
        if self.opted_out:
            return "BLACKLIST"
        if self.invalid:
            return "INVALID"
        if self.bounced:
            return "BOUNCED"
        if self.replied:
            return "REPLIED"
        return "ACTIVE"


@dataclass(slots=True)
class Step:
    """An EMAIL step of a campaign (v2 structure)."""

    id: str
    number: int
    followup_range: str
    followup_value: int
    delivery_time: dict[str, list[dict[str, str]]]
    versions: list[dict[str, Any]]

    @property
    def wait_seconds(self) -> int:
        """Wait before this step after the previous one."""
        unit = 86_400 if self.followup_range == "DAY" else 3_600
        return self.followup_value * unit


@dataclass(slots=True)
class Campaign:
    """A campaign with its v1 list fields and v2 structure."""

    id: int
    name: str
    status: str
    created: int
    from_name: str
    from_email: str
    mailboxes: list[str]
    folder_id: int
    folder_name: str
    per_day: int
    gdpr_unsubscribe: bool
    settings: dict[str, Any]
    email_account_ids: list[int]
    start_id: str
    steps: list[Step]
    unsupported: bool
    stop_at: int | None
    version: int = 0


@dataclass(slots=True)
class Membership:
    """A prospect enrolled in a campaign."""

    prospect_id: int
    campaign_id: int
    enrolled: int
    campaign_email: str
    sent: int = 0
    last_sent: int | None = None
    terminal: str | None = None
    autoreplied: bool = False
    manual_status: str | None = None
    interest: str = "NOT_MARKED"
    last_open: int | None = None
    last_clicks: dict[str, int] = field(default_factory=dict)
    steps_total: int = 0

    @property
    def status(self) -> str:
        """Campaign-level status derived from the membership's events."""
        if self.terminal:
            return self.terminal
        if self.manual_status:
            return self.manual_status
        if self.autoreplied:
            return "AUTOREPLIED"
        if self.steps_total and self.sent >= self.steps_total:
            return "COMPLETED"
        return "ACTIVE"


@dataclass(slots=True)
class Event:
    """One entry of the account's event log."""

    ts: int
    prospect_id: int
    campaign_id: int | None
    type: str
    step: int | None = None
    version: str | None = None
    url: str | None = None
    value: str | None = None
