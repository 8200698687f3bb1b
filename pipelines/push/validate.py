"""Check input rows before anything is sent: columns, email format, statuses, interest values.

Each valid row becomes the prospect object sent to Woodpecker (text values, empty ones left out); each
invalid row keeps every reason it was refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sources.woodpecker import settings

# Pragmatic address check: one @, a local part without spaces or quotes (≤ 64 characters), a domain of
# dot-separated labels (letters, digits, hyphens; no leading/trailing hyphen) ending in a ≥ 2 letter TLD.
EMAIL_RE = re.compile(
    r"^(?!\.)(?!.*\.\.)[^\s@\"(),:;<>\[\]\\]{1,64}(?<!\.)"
    r"@(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"
)
MAX_EMAIL_LENGTH = 254
# Spelling of the 2018 API document, and usual spreadsheet headers; accepted and sent under the API's names.
COLUMN_ALIASES = {
    **{f"snipet{n}": f"snippet{n}" for n in range(1, 5)},
    "e_mail": "email",
    "email_address": "email",
    "e_mail_address": "email",
}
# Runs of blanks, hyphens and dots in a header become one underscore (`First Name` → `first_name`).
HEADER_SEPARATORS = re.compile(r"[\s.\-]+")
# dlt's bookkeeping columns of a loaded table; never sent, never an error.
IGNORED_PREFIX = "_dlt_"
REASONS_SHOWN = 5


@dataclass(frozen=True)
class Prospect:
    """A row that passed validation.

    Attributes:
        row_number: 1-based position in the input as read.
        fields: The prospect object to send (`email` plus non-empty fields, all text).
    """

    row_number: int
    fields: dict[str, str]

    @property
    def email(self) -> str:
        """The prospect's email."""
        return self.fields["email"]


@dataclass(frozen=True)
class Rejected:
    """A row that failed validation and is not sent.

    Attributes:
        row_number: 1-based position in the input as read.
        email: The email as given ("" when missing).
        reasons: Every reason, in column order.
    """

    row_number: int
    email: str
    reasons: tuple[str, ...]


@dataclass
class Validation:
    """The outcome of validating an input."""

    valid: list[Prospect] = field(default_factory=list)
    invalid: list[Rejected] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)


def allowed_columns(campaign: bool) -> tuple[str, ...]:
    """Columns a row may carry for this target (`interested` is a campaign-only field)."""
    base = ("email", "status", *settings.PROSPECT_TEXT_FIELDS, *settings.PROSPECT_SNIPPET_FIELDS)
    return (*base, "interested") if campaign else base


def allowed_statuses(campaign: bool, force: bool) -> tuple[str, ...]:
    """Row `status` values the target accepts, as the endpoint pages list them."""
    if not campaign:
        return settings.DATABASE_PROSPECT_STATUSES
    forced = settings.FORCED_CAMPAIGN_PROSPECT_STATUSES if force else ()
    return (*settings.CAMPAIGN_PROSPECT_STATUSES, *forced)


def as_text(value: Any) -> str | None:
    """A cell as the text Woodpecker stores; None for empty cells.

    Raises:
        TypeError: For values that have no sensible text form (lists, objects, bytes).
    """
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bool | int | Decimal | str):
        text = str(value)
        return text if text.strip() else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def valid_email(email: str) -> bool:
    """Whether an email passes the local format check."""
    return len(email) <= MAX_EMAIL_LENGTH and EMAIL_RE.match(email) is not None


def _check_row(
    row: Mapping[str, Any], columns: Mapping[str, str], statuses: tuple[str, ...], campaign: bool
) -> tuple[dict[str, str], list[str]]:
    fields: dict[str, str] = {}
    reasons: list[str] = []
    for source, target in columns.items():
        try:
            text = as_text(row.get(source))
        except TypeError as exc:
            reasons.append(f"column {source!r} holds a {exc}, not text")
            continue
        if text is None:
            continue
        if target == "":
            reasons.append(f"unknown column {source!r}")
        elif target == "status":
            status = text.strip().upper()
            if status not in statuses:
                reasons.append(f"status {text!r} is not one of {', '.join(statuses)}")
            fields[target] = status
        elif target == "interested":
            interest = text.strip().upper().replace("-", "_").replace(" ", "_")
            if interest not in settings.INTEREST_VALUES:
                reasons.append(f"interested {text!r} is not one of {', '.join(settings.INTEREST_VALUES)}")
            fields[target] = interest
        else:
            fields[target] = text.strip() if target == "email" else text
    email = fields.get("email", "")
    if not email:
        reasons.insert(0, "email is missing")
    elif not valid_email(email):
        reasons.insert(0, f"invalid email format: {email!r}")
    if not campaign and "interested" in row and row.get("interested") not in (None, ""):
        reasons = [r for r in reasons if "'interested'" not in r]
        reasons.append("interested applies to campaign pushes only (use --campaign-id)")
    return fields, reasons


def column_key(name: str) -> str:
    """A column name as the API field it may mean: lower case, blanks, hyphens and dots as underscores."""
    return HEADER_SEPARATORS.sub("_", name.strip().lower())


def map_columns(names: Sequence[str], campaign: bool) -> tuple[dict[str, str], list[str]]:
    """Input column → API field ("" for unknown columns), and the unknown column names.

    Names match ignoring case, blanks and underscores (`First Name`, `first-name`, `FirstName` and
    `FIRST_NAME` are `first_name`; `Snippet 1` is `snippet1`); dlt's `_dlt_*` columns are skipped; a
    second column for the same field (`snipet4` beside `snippet4`) counts as unknown.
    """
    allowed = set(allowed_columns(campaign))
    compact = {name.replace("_", ""): name for name in (*allowed, *COLUMN_ALIASES)}
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for name in names:
        key = column_key(name)
        if key.startswith(IGNORED_PREFIX):
            continue
        if key not in allowed and key not in COLUMN_ALIASES:
            key = compact.get(key.replace("_", ""), key)
        key = COLUMN_ALIASES.get(key, key)
        if key in allowed and key not in mapping.values():
            mapping[name] = key
        else:
            mapping[name] = ""
            unknown.append(name)
    return mapping, unknown


def validate(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *, campaign: bool, force: bool
) -> Validation:
    """Split rows into prospects to send and rows refused, with reasons.

    Rules: an email is required and must look like an address; `status` and `interested` must be values
    the target accepts (`interested` only for campaigns); a row with a value in a column the API does not
    know is refused; an email repeated in the input is sent once (the first row in email order).

    Args:
        columns: Column names of the input.
        rows: Rows as mappings of column name to value.
        campaign: Whether the target is a campaign (`add_prospects_campaign`).
        force: Whether `--force` was given (widens the campaign statuses).

    Returns:
        Valid prospects (sorted by email, then content, so the same input always gives the same
        batches), refused rows in input order, and the unknown column names.
    """
    mapping, unknown = map_columns(columns, campaign)
    statuses = allowed_statuses(campaign, force)
    result = Validation(unknown_columns=unknown)
    candidates: list[Prospect] = []
    for number, row in enumerate(rows, start=1):
        fields, reasons = _check_row(row, mapping, statuses, campaign)
        if reasons:
            result.invalid.append(Rejected(number, fields.get("email", ""), tuple(reasons)))
        else:
            candidates.append(Prospect(number, fields))
    candidates.sort(key=lambda p: (p.email.lower(), sorted(p.fields.items()), p.row_number))
    first_row: dict[str, int] = {}
    for prospect in candidates:
        key = prospect.email.lower()
        if key in first_row:
            reason = f"email repeated in the input (sent from row {first_row[key]})"
            result.invalid.append(Rejected(prospect.row_number, prospect.email, (reason,)))
            continue
        first_row[key] = prospect.row_number
        result.valid.append(prospect)
    result.invalid.sort(key=lambda r: r.row_number)
    return result
