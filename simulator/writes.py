"""Write endpoints: add prospects (global base or campaign), webhooks subscriptions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from . import model as m
from .account import Account

MAX_PROSPECTS = 20_000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIST_STATUSES = frozenset({"ACTIVE", "BLACKLIST", "BOUNCED", "INVALID", "REPLIED"})
CAMPAIGN_ROW_STATUSES = frozenset({"ACTIVE", "PAUSED"})
FORCE_ROW_STATUSES = frozenset({"BLACKLIST", "REPLIED", "INVALID", "BOUNCED"})
WEBHOOK_EVENTS = frozenset(
    {
        "prospect_replied",
        "link_clicked",
        "email_opened",
        "prospect_bounced",
        "prospect_invalid",
        "prospect_interested",
        "campaign_sent",
        "prospect_maybe_later",
        "prospect_not_interested",
        "prospect_autoreplied",
        "followup_after_autoreply",
        "secondary_replied",
        "prospect_saved",
        "campaign_paused_by_bounce_shield",
        "prospect_non_responsive",
        "prospect_blacklisted",
        "prospect_opt_out",
        "campaign_completed",
        "task_created",
        "task_done",
        "task_ignored",
    }
)
DUPLICATE = ("E_DUPLICATE", "Duplicate. The prospect has been added to your prospect base before.")
INV_STATUS = ("E_INV_STATUS", "Status is other than ACTIVE.")


class RequestError(Exception):
    """A request-level error: HTTP status, v1 code and message."""

    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _prospect_list(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise RequestError(400, "E_PARSER_ERROR", "Invalid request body.")
    prospects = body.get("prospects")
    if prospects is None:
        raise RequestError(400, "E_REQUIRED_ELEMENT", "Required element 'prospects' is missing.")
    if not isinstance(prospects, list) or not all(isinstance(p, dict) for p in prospects):
        raise RequestError(400, "E_PARSER_ERROR", "Invalid request body.")
    if len(prospects) > MAX_PROSPECTS:
        raise RequestError(
            400, "E_WRONG_PARAM", f"Too many prospects. The limit is {MAX_PROSPECTS} per request."
        )
    return prospects


def _data_fields(row: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in row.items():
        name = "snippet" + key[6:] if key.startswith("snipet") else key
        if name in m.WRITABLE_FIELDS and name != "email" and value is not None:
            out[name] = str(value)
    return out


def _error(row: dict[str, Any], code: tuple[str, str], pid: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"email": row.get("email")}
    if pid is not None:
        out["id"] = pid
    out.update(status="ERROR", code=code[0], msg=code[1])
    return out


def _answer(results: list[dict[str, Any]], commit: list[Any]) -> tuple[int, dict[str, Any]]:
    """200 when any row succeeded (then the changes are written); 400 with the first error otherwise."""
    failed = [r for r in results if r.get("status") == "ERROR"]
    if results and len(failed) == len(results):
        first = failed[0]
        return 400, {
            "prospects": results,
            "status": {"status": "ERROR", "code": first["code"], "msg": first["msg"]},
        }
    for action in commit:
        action()
    return 200, {"prospects": results, "status": {"status": "OK", "code": "OK", "msg": "OK"}}


def add_prospects_list(account: Account, body: Any) -> tuple[int, dict[str, Any]]:
    """`POST /rest/v1/add_prospects_list` as documented (seed 001 and the 2018 docs)."""
    rows = _prospect_list(body)
    update = _truthy(body.get("update"))
    results: list[dict[str, Any]] = []
    commit: list[Any] = []
    with account.lock:
        index = {p.fields["email"].lower(): p.id for p in account.prospects.values()}
        for row in rows:
            email = str(row.get("email") or "")
            pid = (
                row.get("id")
                if isinstance(row.get("id"), int) and row.get("id") in account.prospects
                else None
            )
            pid = pid or index.get(email.lower())
            if not EMAIL_RE.match(email):
                results.append(_error(row, ("E_EMAIL", f"This looks like invalid email format: {email}")))
                continue
            status = str(row.get("status") or "ACTIVE")
            if status not in LIST_STATUSES:
                results.append(_error(row, ("E_WRONG_PARAM", f"Wrong param [status]={status}")))
                continue
            fields = _data_fields(row)
            if pid is not None:
                if not update:
                    results.append(_error(row, DUPLICATE, pid))
                    continue
                changes: dict[str, Any] = dict(fields, email=email)
                if "status" in row:
                    changes["status"] = status
                commit.append(lambda pid=pid, changes=changes: account.edit_prospect(pid, **changes))
                results.append({"email": email, "id": pid})
            else:
                creator = _Creator(account, email, fields, status)
                commit.append(creator)
                index[email.lower()] = creator.id
                results.append({"email": email, "id": creator.id})
        code, answer = _answer(results, commit)
    return code, answer


class _Creator:
    """Deferred creation of a new prospect (only when the request as a whole succeeds)."""

    def __init__(self, account: Account, email: str, fields: dict[str, str], status: str) -> None:
        self.account, self.email, self.fields, self.status = account, email, fields, status
        self.id = account.reserve_id()

    def __call__(self) -> int:
        (pid,) = self.account.add_prospects(1, ids=[self.id], **self.fields, email=self.email)
        if self.status != "ACTIVE":
            self.account.edit_prospect(pid, status=self.status)
        return pid


def _optional_text(value: Any) -> str | None:
    """A row's enum value as text (a list or object stays unhashable-safe and fails validation)."""
    return None if value is None else value if isinstance(value, str) else repr(value)


def _send_after(value: Any) -> int | None:
    if value in (None, ""):
        return None
    # The documents ask for `%2B` in place of `+` ("ISO 8601-like", form-decoded by the server); a `+`
    # that arrives form-decoded as a space is read as `+` too.
    text = unquote(str(value)).replace(" ", "+")
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            return int(datetime.strptime(text, fmt).timestamp())
        except ValueError:
            continue
    raise RequestError(400, "E_PARSER_ERROR", "Invalid request body.")


def add_prospects_campaign(account: Account, body: Any) -> tuple[int, dict[str, Any]]:
    """`POST /rest/v1/add_prospects_campaign` as documented (seed 000 and the 2018 docs)."""
    rows = _prospect_list(body)
    campaign = body.get("campaign")
    if not isinstance(campaign, dict) or "campaign_id" not in campaign:
        raise RequestError(400, "E_RECORD_NOT_FOUND", "Campaign ID not found.")
    cid = campaign["campaign_id"]
    if not isinstance(cid, int) or cid not in account.campaigns:
        raise RequestError(400, "E_RECORD_NOT_FOUND", "Campaign not found.")
    send_after = _send_after(campaign.get("send_after"))
    update, force = _truthy(body.get("update")), _truthy(body.get("force"))
    results: list[dict[str, Any]] = []
    commit: list[Any] = []
    side_effects: list[Any] = []
    with account.lock:
        index = {p.fields["email"].lower(): p.id for p in account.prospects.values()}
        created: set[int] = set()  # ids of prospects this request creates (not in the account yet)
        for row in rows:
            email = str(row.get("email") or "")
            if not EMAIL_RE.match(email):
                results.append(_error(row, ("E_EMAIL", f"This looks like invalid email format: {email}")))
                continue
            status = _optional_text(row.get("status"))
            interest = _optional_text(row.get("interested"))
            allowed = CAMPAIGN_ROW_STATUSES | (FORCE_ROW_STATUSES if force else frozenset())
            if status is not None and status not in allowed:
                results.append(_error(row, ("E_WRONG_PARAM", f"Wrong param [status]={status}")))
                continue
            if interest is not None and interest not in m.INTERESTS:
                results.append(_error(row, ("E_WRONG_PARAM", f"Wrong param [interested]={interest}")))
                continue
            fields = _data_fields(row)
            pid = index.get(email.lower())
            if pid in created:  # the same email earlier in this request
                results.append(_error(row, DUPLICATE, pid))
                continue
            if pid is not None:
                p = account.prospects[pid]
                if p.status != "ACTIVE" and not force:
                    results.append(_error(row, INV_STATUS, pid))
                    if update and fields:
                        side_effects.append(
                            lambda pid=pid, fields=fields: account.edit_prospect(pid, **fields)
                        )
                    continue
                member = (pid, cid) in account.memberships
                if member and not update:
                    results.append(_error(row, DUPLICATE, pid))
                    continue
                commit.append(
                    _Enrol(account, pid, cid, fields if update else {}, status, interest, send_after)
                )
                result: dict[str, Any] = {"email": email, "id": pid}
                if member:
                    result["prospect_campaign"] = "DUPLICATE"
                results.append(result)
            else:
                creator = _Creator(account, email, fields, "ACTIVE")
                commit.append(_Enrol(account, None, cid, {}, status, interest, send_after, creator))
                index[email.lower()] = creator.id
                created.add(creator.id)
                results.append({"email": email, "id": creator.id})
        code, answer = _answer(results, commit)
        if code == 200:
            for action in side_effects:
                action()
    return code, answer


class _Enrol:
    """Deferred enrolment (and update) of one prospect in a campaign."""

    def __init__(
        self,
        account: Account,
        pid: int | None,
        cid: int,
        fields: dict[str, str],
        status: str | None,
        interest: str | None,
        send_after: int | None,
        creator: _Creator | None = None,
    ) -> None:
        self.account, self.pid, self.cid, self.fields = account, pid, cid, fields
        self.status, self.interest, self.send_after, self.creator = status, interest, send_after, creator

    def __call__(self) -> None:
        pid = self.creator() if self.creator is not None else self.pid
        assert pid is not None
        account = self.account
        if self.fields:
            account.edit_prospect(pid, **self.fields)
        ms = account.enroll(pid, self.cid, send_after=self.send_after)
        if self.status is not None:
            account.set_membership_status(pid, self.cid, self.status)
        if self.interest is not None and self.interest != ms.interest:
            account.set_interest(pid, self.cid, self.interest)


def subscribe(account: Account, body: Any) -> tuple[int, dict[str, Any]]:
    """`POST /rest/v1/webhooks/subscribe`."""
    target, event = _webhook_body(body)
    with account.lock:
        if any(h["target_url"] == target and h["event"] == event for h in account.webhooks):
            raise RequestError(409, "E_WRONG_PARAM", "Event defined for this url.")
        if sum(1 for h in account.webhooks if h["event"] == event) >= 3:
            raise RequestError(409, "E_WRONG_PARAM", "Event can be subscribed at most 3 times.")
        account.webhooks.append({"target_url": target, "event": event})
    return 201, {"target_url": target, "event": event, "message": "Subscribed."}


def unsubscribe(account: Account, body: Any) -> None:
    """`POST /rest/v1/webhooks/unsubscribe`."""
    target, event = _webhook_body(body)
    with account.lock:
        account.webhooks[:] = [
            h for h in account.webhooks if not (h["target_url"] == target and h["event"] == event)
        ]
    account.outbox.drop(target, event)


def _webhook_body(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise RequestError(400, "E_PARSER_ERROR", "Invalid request body.")
    target, event = body.get("target_url"), body.get("event")
    if not isinstance(target, str) or not re.match(r"^https?://[^\s/]+", target):
        raise RequestError(400, "E_WRONG_PARAM", f"Wrong param [target_url]={target}")
    if event not in WEBHOOK_EVENTS:
        raise RequestError(400, "E_WRONG_PARAM", f"Wrong param [event]={event}")
    return target, str(event)
