"""The HTTP server: authentication, one request at a time per key, faults, routing and answers."""

from __future__ import annotations

import base64
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from . import render, writes
from .account import Account
from .config import NO_ADDON_API_KEY, SimulatorConfig
from .faults import FaultInjector
from .query import QueryCache, QueryError, parse, parse_paging
from .stats import campaign_stats

NO_PROSPECTS = orjson.dumps({"message": "There are no prospects matching the given criteria."})
SESSION_MSG = (
    "The API key you've entered is incorrect or no longer valid. Check if you pasted the key correctly. "
    "You can generate a new key in Woodpecker: Settings -> API Keys."
)
HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center>"
    b"<h1>502 Bad Gateway</h1></center></body></html>"
)
HTML_503 = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center>"
    b"<h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)
COMPANY_ID_HEADER = "x-company-id"
V2_CAMPAIGN = re.compile(r"^/rest/v2/campaigns/(\d+)(?:/(pause|run|stop))?$")


@dataclass
class RequestRecord:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    started: float = 0.0
    ended: float = 0.0
    api_version: str = ""
    fault: str | None = None
    rows: int = 0


@dataclass
class Answer:
    """What to send back."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    rows: int = 0


def v1_error(status: int, code: str, msg: str) -> Answer:
    """The v1 error envelope."""
    return Answer(status, orjson.dumps({"status": {"status": "ERROR", "code": code, "msg": msg}}))


def v2_error(status: int, kind: str, message: str) -> Answer:
    """The v2 error shape of the campaign endpoints."""
    return Answer(status, orjson.dumps({"type": kind, "message": message, "details": None}))


def _json(status: int, payload: Any) -> Answer:
    return Answer(status, orjson.dumps(payload))


class KeyGate:
    """One request processed at a time per API key; overlapping ones are rejected or queued."""

    def __init__(self, mode: str, queue_size: int = 6, queue_timeout_s: float = 15.0) -> None:
        self.mode, self.queue_size, self.queue_timeout_s = mode, queue_size, queue_timeout_s
        self._locks: dict[str, threading.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._guard = threading.Lock()
        self.max_concurrency = 0
        self._active: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        """Take the key's slot; False when the request must be answered as throttled."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
            if lock.acquire(blocking=False):
                return self._entered(key)
            if self.mode != "queue" or self._waiting.get(key, 0) >= self.queue_size:
                return False
            self._waiting[key] = self._waiting.get(key, 0) + 1
        got = lock.acquire(timeout=self.queue_timeout_s)
        with self._guard:
            self._waiting[key] -= 1
            return self._entered(key) if got else False

    def _entered(self, key: str) -> bool:
        self._active[key] = self._active.get(key, 0) + 1
        self.max_concurrency = max(self.max_concurrency, self._active[key])
        return True

    def release(self, key: str) -> None:
        """Give the slot back."""
        with self._guard:
            self._active[key] -= 1
            self._locks[key].release()


class WoodpeckerServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that carries the simulated account."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], account: Account, config: SimulatorConfig) -> None:
        super().__init__(address, Handler)
        self.account = account
        self.config = config
        self.gate = KeyGate(config.rate_limit)
        self.faults = FaultInjector(config.fault_rate, config.fault_seed, config.fault_kinds)
        self.cache = QueryCache()
        self.requests: list[RequestRecord] = []
        self.callbacks: list[Callable[[RequestRecord], None]] = []
        self._base_rows: dict[int, tuple[int, bytes]] = {}
        self._records_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client goes away mid-answer (timed out, killed); print anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):  # reset connections and broken pipes
            return
        super().handle_error(request, client_address)

    def prospect_bytes(self, p: Any) -> bytes:
        """The rendered prospect object, cached until the prospect changes."""
        cached = self._base_rows.get(p.id)
        if cached is not None and cached[0] == p.version:
            return cached[1]
        # orjson leaves each result in an over-sized allocation (~8 KB for a 1 KB object); an exact-size
        # copy keeps a million cached rows at their real size.
        base = render.prospect_base(p, self.config.timezone, self.config.extra_prospect_field)
        data = bytes(memoryview(orjson.dumps(base)))
        self._base_rows[p.id] = (p.version, data)
        return data


class Handler(BaseHTTPRequestHandler):
    """Serves one request of the Woodpecker API."""

    server: WoodpeckerServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; without this, Nagle's algorithm delays each answer ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; requests are recorded in `server.requests`."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header tells the account's virtual time (skewed by `date_skew_s`)."""
        now = self.server.account.clock.now() + timedelta(seconds=self.server.config.date_skew_s)
        return format_datetime(now, usegmt=True)

    def send_response(self, code: int, message: str | None = None) -> None:
        """The status line with `Server` and, unless switched off, `Date` headers."""
        if self.server.config.date_header:
            super().send_response(code, message)
            return
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # ------------------------------------------------------------------ plumbing
    def _company_refusal(self, key: str | None) -> Answer | None:
        """Why an agency-key request may not see this account, or None when it may (or is no agency one).

        The agency key opens a client company's account only with that company's id in `x-company-id`.
        A missing, unknown or foreign company id gets the documented 403 `E_NO_PERMISSION`, the answer
        Woodpecker gives for an inactive client company.
        """
        config = self.server.config
        if config.agency_key is None or key != config.agency_key:
            return None
        company = (self.headers.get(COMPANY_ID_HEADER) or "").strip()
        if company == str(config.company_id):
            return None
        reason = "missing" if not company else f"not a client company of this agency: {company}"
        message = f"No access to the client company ({COMPANY_ID_HEADER} {reason})."
        return v1_error(403, "E_NO_PERMISSION", message)

    def _key(self) -> str | None:
        key = self.headers.get("x-api-key")
        if key:
            return key
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user = base64.b64decode(auth[6:]).decode()
            except ValueError:
                return None
            return user.split(":", 1)[0]
        return None

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raise writes.RequestError(400, "E_PARSER_ERROR", "Invalid request body.") from None

    def _handle(self, method: str) -> None:
        srv = self.server
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        version = "v2" if path.startswith("/rest/v2/") else "v1"
        record = RequestRecord(method, path, query, started=time.monotonic(), api_version=version)
        with srv._records_lock:
            srv.requests.append(record)
        key = self._key()
        valid = {srv.config.api_key, NO_ADDON_API_KEY} | ({srv.config.agency_key} - {None})
        if key is None or key not in valid:
            self._drain()
            if version == "v2":
                answer = _json(
                    401,
                    {
                        "title": "Unauthorized",
                        "status": 401,
                        "detail": "Invalid api key",
                        "timestamp": srv.account.clock.now().strftime("%Y-%m-%d %H:%M:%S"),
                    },
                )
            else:
                answer = v1_error(401, "E_SESSION", SESSION_MSG)
            return self._send(record, answer)
        if key == NO_ADDON_API_KEY:
            self._drain()
            return self._send(
                record,
                v1_error(403, "E_NO_PERMISSION", "You need to have an API keys addon to access our API."),
            )
        refusal = self._company_refusal(key)
        if refusal is not None:
            self._drain()
            return self._send(record, refusal)
        if not srv.gate.acquire(key):
            self._drain()
            return self._send(record, self._throttled(version))
        # The answer is worked out while the key's gate is held and written after it is released: a
        # client that sends its next request the moment it has read an answer must not find the gate
        # still closed.
        try:
            fault = srv.faults.next_fault()
            record.fault = fault
            if fault is not None and fault not in ("slow", "drop", "truncated"):
                self._drain()
                answer = self._fault_answer(fault, version)
            else:
                for callback in list(srv.callbacks):
                    callback(record)
                try:
                    answer = self._route(method, path, query)
                except writes.RequestError as exc:
                    answer = v1_error(exc.status, exc.code, exc.msg)
                if srv.config.latency_s or (srv.config.row_latency_s and answer.rows):
                    time.sleep(srv.config.latency_s + srv.config.row_latency_s * answer.rows)
                if fault == "slow":
                    time.sleep(srv.config.slow_fault_s)
                if fault == "truncated":
                    answer.body = answer.body[: max(1, len(answer.body) // 2)]
        finally:
            srv.gate.release(key)
        if fault == "drop":
            return self._drop(record, answer)
        return self._send(record, answer)

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _throttled(self, version: str) -> Answer:
        if version == "v2":
            return _json(429, {"title": "Too Many Requests", "status": 429, "detail": "Too many requests"})
        return v1_error(409, "E_TOO_MANY_REQUESTS", "Too many requests in one time")

    def _fault_answer(self, fault: str, version: str) -> Answer:
        if fault == "throttle":
            return self._throttled(version)
        if fault == "throttle400":
            return v1_error(400, "E_TOO_MANY_REQUESTS", "Too many requests in one time")
        if fault == "error500":
            if version == "v2":
                return v2_error(500, "UNKNOWN", "Unknown error during get campaign call")
            return v1_error(500, "E_UNNOWN", "Unknown error.")
        body = HTML_502 if fault == "bad_gateway" else HTML_503
        return Answer(502 if fault == "bad_gateway" else 503, body, {"Content-Type": "text/html"})

    def _headers(self, answer: Answer, length: int) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.headers.pop("Content-Type", "application/json;charset=UTF-8"))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, record: RequestRecord, answer: Answer) -> None:
        record.status, record.rows = answer.status, answer.rows
        self._headers(answer, len(answer.body))
        self.wfile.write(answer.body)
        record.ended = time.monotonic()

    def _drop(self, record: RequestRecord, answer: Answer) -> None:
        """Send the headers and part of the body, then close the connection."""
        record.status = answer.status
        self._headers(answer, len(answer.body))
        self.wfile.write(answer.body[: max(1, len(answer.body) // 3)])
        self.wfile.flush()
        self.close_connection = True
        record.ended = time.monotonic()

    # ------------------------------------------------------------------ routes
    def _route(self, method: str, path: str, query: dict[str, str]) -> Answer:
        account = self.server.account
        if path == "/rest/v1/prospects" and method == "GET":
            return self._prospects(query)
        if path == "/rest/v1/prospects" and method == "DELETE":
            return self._delete(query)
        if path == "/rest/v1/campaign_list" and method == "GET":
            return self._campaign_list(query)
        if path == "/rest/v1/add_prospects_list" and method == "POST":
            return _json(*writes.add_prospects_list(account, self._body()))
        if path == "/rest/v1/add_prospects_campaign" and method == "POST":
            return _json(*writes.add_prospects_campaign(account, self._body()))
        if path == "/rest/v1/webhooks/subscribe" and method == "POST":
            return _json(*writes.subscribe(account, self._body()))
        if path == "/rest/v1/webhooks/unsubscribe" and method == "POST":
            writes.unsubscribe(account, self._body())
            return Answer(200)
        if path == "/rest/v2/webhooks" and method == "GET":
            with account.lock:
                return _json(200, {"webhooks": [dict(h) for h in account.webhooks]})
        match = V2_CAMPAIGN.match(path)
        if match:
            return self._campaign_v2(method, int(match.group(1)), match.group(2))
        self._drain()
        if path.startswith("/rest/v2/"):
            return v2_error(404, "NOT_FOUND", f"URL not found: {path}")
        return v1_error(404, "E_URL_NOT_FOUND", f"URL not found: /Woodpecker{path}")

    def _prospects(self, query: dict[str, str]) -> Answer:
        srv = self.server
        try:
            page, per_page = parse_paging(query)
            q = parse({k: v for k, v in query.items() if k not in ("page", "per_page")})
        except QueryError as exc:
            return v1_error(400, "E_WRONG_PARAM", str(exc))
        config = srv.config
        if config.page_size_cap is not None:
            per_page = min(per_page, config.page_size_cap)
        account = srv.account
        with account.lock:
            chunk, total = srv.cache.page(account, q, page, per_page)
            counted = not q.details and config.total_count
            headers = {"X-Total-Count": str(total + config.overcount)} if counted else {}
            if not chunk:
                return Answer(200, NO_PROSPECTS, headers)
            parts = []
            tz = srv.config.timezone
            plain = q.campaigns is None and q.interested is None and q.activity is None and not q.details
            for r in chunk:
                base = srv.prospect_bytes(r.prospect)
                if plain:
                    parts.append(base)
                    continue
                extra: dict[str, Any] = {}
                if r.membership is not None and r.campaign is not None:
                    if q.campaigns is not None:
                        extra.update(render.membership_extra(r.membership, r.campaign))
                    else:
                        extra.update(interested=r.membership.interest, campaign_id=r.campaign.id)
                if q.activity is not None:
                    extra["sent_mails"] = r.sent
                if q.activity == "OPENED":
                    extra["last_open"] = render.fmt_ts(r.last_open, tz)
                if q.activity == "CLICKED":
                    extra["last_clicked"] = render.fmt_ts(r.click_ts, tz)
                    extra["click_url"] = r.click_url
                if q.details:
                    extra["campaigns_details"] = render.campaigns_details(
                        account.memberships_of(r.prospect.id)
                    )
                parts.append(render.extend_prospect(base, extra))
        return Answer(200, b"[" + b",".join(parts) + b"]", headers, rows=len(chunk))

    def _delete(self, query: dict[str, str]) -> Answer:
        if "id" not in query:
            return v1_error(400, "E_WRONG_PARAM", "Wrong param [id]=")
        try:
            ids = [int(v) for v in query["id"].split(",") if v]
            campaigns = (
                [int(v) for v in query["campaigns_id"].split(",") if v] if "campaigns_id" in query else None
            )
        except ValueError:
            return v1_error(400, "E_WRONG_PARAM", f"Wrong param [id]={query['id']}")
        for pid in ids:
            self.server.account.delete_prospect(pid, campaigns)
        return Answer(200)

    def _campaign_list(self, query: dict[str, str]) -> Answer:
        account = self.server.account
        for name in query:
            if name not in ("status", "id"):
                return v1_error(400, "E_WRONG_PARAM", f"Unknown param:{name}")
        with account.lock:
            campaigns = sorted(account.campaigns.values(), key=lambda c: c.id)
            if "status" in query:
                wanted = set(query["status"].split(","))
                campaigns = [c for c in campaigns if c.status in wanted]
            ids: list[int] = []
            if "id" in query:
                try:
                    ids = [int(v) for v in query["id"].split(",") if v]
                except ValueError:
                    return v1_error(400, "E_WRONG_PARAM", f"Wrong param [id]={query['id']}")
                campaigns = [c for c in campaigns if c.id in set(ids)]
            rows = [render.campaign_row(c, account.tz) for c in campaigns]
            if len(ids) == 1 and rows:
                rows[0]["stats"] = campaign_stats(account, campaigns[0])
        return _json(200, rows)

    def _campaign_v2(self, method: str, campaign_id: int, action: str | None) -> Answer:
        account = self.server.account
        with account.lock:
            camp = account.campaigns.get(campaign_id)
            if camp is None:
                return v2_error(404, "CAMPAIGN_NOT_EXIST", "Campaign not found")
            if method == "GET" and action is None:
                if camp.unsupported:
                    return v2_error(
                        409,
                        "API_UNSUPPORTED_CAMPAIGN_FEATURES",
                        "Campaign contains currently unsupported features",
                    )
                return _json(200, render.campaign_v2(camp))
            if method == "DELETE" and action is None:
                account.delete_campaign(campaign_id)
                return Answer(200)
            if method == "POST" and action is not None:
                if action == "run" and camp.unsupported:
                    return v2_error(409, "VALIDATION_FAILURE", "Validation failure")
                status = {"run": "RUNNING", "pause": "PAUSED", "stop": "STOPPED"}[action]
                account.edit_campaign(campaign_id, status=status)
                return Answer(200)
        return v2_error(404, "NOT_FOUND", "URL not found")
