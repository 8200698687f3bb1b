"""Writing prospects to Woodpecker: request bodies and per-prospect outcomes of the two add endpoints.

`POST /rest/v1/add_prospects_list` adds prospects to the global database; `POST
/rest/v1/add_prospects_campaign` adds them to a campaign (creating unknown ones globally). Both answer:

- 200 with one result per prospect: `{email, id}` when accepted, plus `"status": "ERROR", "code",
  "msg"` when rejected (the campaign endpoint adds `"prospect_campaign": "DUPLICATE"` for a prospect
  already in the campaign, which is not an error);
- 400 with the same per-prospect list when none was accepted;
- 400 without a list for request-level errors (`E_PARSER_ERROR`, `E_RECORD_NOT_FOUND`, …).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import settings
from .client import WoodpeckerClient, error_details
from .errors import ApiError

PUSH_RESOURCE = "push"


class PushOutcome(StrEnum):
    """What the add endpoints did with one prospect, as stored in `push_results.outcome`."""

    ADDED = "added"
    UPDATED = "updated"
    ADDED_OR_UPDATED = "added_or_updated"
    DUPLICATE = "duplicate"
    UNANSWERED = "unanswered"


@dataclass(frozen=True)
class PushTarget:
    """Where prospects go and how existing ones are treated.

    Attributes:
        campaign_id: Campaign to add prospects to; None adds them to the global database only.
        send_after: Earliest contact time in the API's format (campaign only), or None.
        update: Update existing prospects instead of reporting them as duplicates.
        force: Enrol prospects whose global status is not ACTIVE (campaign only).
        file_name: Import batch name shown in Woodpecker's "imported" column.
    """

    campaign_id: int | None = None
    send_after: str | None = None
    update: bool = False
    force: bool = False
    file_name: str | None = None

    @property
    def path(self) -> str:
        """The endpoint the prospects are posted to."""
        if self.campaign_id is None:
            return settings.ADD_PROSPECTS_LIST_PATH
        return settings.ADD_PROSPECTS_CAMPAIGN_PATH

    @property
    def label(self) -> str:
        """`database` or `campaign <id>`, as stored in `push_results.target`."""
        return "database" if self.campaign_id is None else f"campaign {self.campaign_id}"


@dataclass(frozen=True)
class ProspectOutcome:
    """What Woodpecker did with one prospect.

    Attributes:
        email: The email sent.
        prospect_id: Woodpecker's prospect id (also given for duplicates), or None.
        outcome: `added`, `updated`, `added_or_updated`, `duplicate`, `unanswered` or an `E_*` code.
        code: The API's per-prospect code for rejected prospects, else None.
        message: The API's per-prospect message for rejected prospects, else None.
    """

    email: str
    prospect_id: int | None
    outcome: str
    code: str | None = None
    message: str | None = None


def request_body(target: PushTarget, prospects: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The JSON body of one batch.

    `update` is always sent to the campaign endpoint, where the page marks it required; the database
    endpoint only gets it when updating. `force` is only sent when set.
    """
    body: dict[str, Any] = {}
    if target.campaign_id is not None:
        campaign: dict[str, Any] = {"campaign_id": target.campaign_id}
        if target.send_after:
            campaign["send_after"] = target.send_after
        body["campaign"] = campaign
        body["update"] = target.update
        if target.force:
            body["force"] = True
    elif target.update:
        body["update"] = True
    if target.file_name:
        body["file_name"] = target.file_name
    body["prospects"] = [dict(p) for p in prospects]
    return body


def _outcome(target: PushTarget, email: str, result: Mapping[str, Any] | None) -> ProspectOutcome:
    if result is None:
        return ProspectOutcome(
            email, None, PushOutcome.UNANSWERED, None, "the answer has no result for this prospect"
        )
    raw_id = result.get("id")
    pid = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    if result.get("status") == "ERROR":
        code = str(result.get("code") or "E_UNKNOWN")
        outcome = PushOutcome.DUPLICATE if code == settings.DUPLICATE_CODE else code
        return ProspectOutcome(email, pid, outcome, code, str(result.get("msg") or ""))
    if target.campaign_id is not None:
        # Without `update` a prospect already in the campaign is an E_DUPLICATE error; with it, the
        # campaign endpoint marks the updated one with prospect_campaign = DUPLICATE.
        in_campaign = result.get("prospect_campaign") == settings.DUPLICATE_IN_CAMPAIGN
        return ProspectOutcome(email, pid, PushOutcome.UPDATED if in_campaign else PushOutcome.ADDED)
    # The database endpoint answers new and updated prospects alike when `update` is set.
    return ProspectOutcome(email, pid, PushOutcome.ADDED_OR_UPDATED if target.update else PushOutcome.ADDED)


def outcomes(
    target: PushTarget, prospects: Sequence[Mapping[str, str]], results: Sequence[Any]
) -> list[ProspectOutcome]:
    """Pair each sent prospect with its result (in order; by email when the answer is out of order)."""
    by_email: dict[str, Mapping[str, Any]] = {}
    for result in results:
        if isinstance(result, Mapping):
            by_email.setdefault(str(result.get("email") or "").lower(), result)
    paired = []
    for position, prospect in enumerate(prospects):
        email = prospect["email"]
        result = results[position] if position < len(results) else None
        if not isinstance(result, Mapping) or str(result.get("email") or "").lower() != email.lower():
            result = by_email.get(email.lower())
        paired.append(_outcome(target, email, result))
    return paired


def send_batch(
    client: WoodpeckerClient, target: PushTarget, prospects: Sequence[Mapping[str, str]]
) -> list[ProspectOutcome]:
    """Post one batch (at most 20,000 prospects) and return each prospect's outcome.

    Throttling answers and 5xx are retried by the client; a 400 that lists per-prospect errors (none
    accepted) is an answer like any other.

    Raises:
        AuthenticationError: 401 or 403.
        ApiError: A request-level error (bad body, campaign not found …) or attempts ran out.
    """
    if not 1 <= len(prospects) <= settings.MAX_PROSPECTS_PER_REQUEST:
        raise ValueError(f"a batch holds 1 to {settings.MAX_PROSPECTS_PER_REQUEST} prospects")
    return post_body(client, target, request_body(target, prospects), prospects)


def post_body(
    client: WoodpeckerClient,
    target: PushTarget,
    body: Mapping[str, Any],
    prospects: Sequence[Mapping[str, str]],
) -> list[ProspectOutcome]:
    """Post a prepared body and interpret the answer (see `send_batch`)."""
    answer = client.post(target.path, body, PUSH_RESOURCE, accept=(400,))
    results = answer.body.get("prospects") if isinstance(answer.body, Mapping) else None
    if not isinstance(results, list):
        code, message = error_details(answer.body)
        raise ApiError(answer.status, code or f"HTTP {answer.status}", message, "POST", target.path)
    return outcomes(target, prospects, results)
