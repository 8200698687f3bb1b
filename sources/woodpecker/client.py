"""HTTP client of the Woodpecker source: one shared `RESTClient`, one request in flight, body-aware retries.

The API key travels only in the `x-api-key` header set by `APIKeyAuth`; dlt applies auth after it logs a
request, so the key is in no log line, exception text, URL or state.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from requests import Response
from requests.exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ConnectTimeout,
    ContentDecodingError,
    SSLError,
    Timeout,
)
from urllib3.exceptions import NameResolutionError, NewConnectionError

from . import settings
from .api_key import clean_api_key
from .errors import ApiError, AuthenticationError, ConfigurationError, UnreachableError
from .jsontext import loads
from .progress import RunStats

logger = logging.getLogger(__name__)

RETRYABLE_EXCEPTIONS = (ConnectionError, Timeout, ChunkedEncodingError, ContentDecodingError)
THROTTLE = "throttled"


@dataclass(frozen=True)
class Answer:
    """A successful (2xx) answer.

    Attributes:
        status: HTTP status.
        body: Parsed JSON, or None for 204 / an empty body.
        total: `X-Total-Count` when the answer carries it.
        fetched_at: Local UTC time the answer arrived (strictly increasing within a client).
        server_time: The answer's `Date` header (the API's clock), or `fetched_at` without one.
    """

    status: int
    body: Any
    total: int | None
    fetched_at: datetime
    server_time: datetime


def error_details(body: Any, text: str = "") -> tuple[str, str]:
    """The API's error code and message from any of its error shapes.

    Handles the v1 envelope `{"status": {"code", "msg"}}` and both v2 shapes
    (`{"type", "message"}` and `{"title", "detail"}`); anything else gives a short text excerpt.

    Args:
        body: Parsed JSON body, or None when the body is not JSON.
        text: Raw body text, used when `body` is not a known shape.

    Returns:
        `(code, message)`; either may be empty.
    """
    if isinstance(body, Mapping):
        status = body.get("status")
        if isinstance(status, Mapping):
            return str(status.get("code") or ""), str(status.get("msg") or "")
        if "type" in body:
            return str(body.get("type") or ""), str(body.get("message") or "")
        if "title" in body:
            return str(body.get("title") or ""), str(body.get("detail") or "")
        if "message" in body:
            return "", str(body.get("message") or "")
    excerpt = " ".join(text.split())[:160]
    return "", excerpt


def v1_rows(body: Any, method: str, path: str) -> list[dict[str, Any]]:
    """Rows of a v1 list answer: a JSON array, or none for 204 and the `{"message": …}` object."""
    if body is None:
        return []
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping) and "message" in body and "status" not in body:
        return []
    code, message = error_details(body)
    raise ApiError(200, code or "UNEXPECTED_BODY", message or "the answer is not a list", method, path)


def check_base_url(base_url: str) -> str:
    """The base URL without surrounding blanks and trailing slashes, once it can be the API's.

    Raises:
        ConfigurationError: For a scheme other than http(s), no host, or a URL that already holds the
            API's path (`…/rest/v1/`) or a query.
    """
    url = str(base_url).strip()
    where = "Set --base-url or SOURCES__WOODPECKER__BASE_URL"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        rest = url.split("://", 1)[-1].strip("/")
        example = f"https://{rest}" if rest else settings.DEFAULT_BASE_URL
        raise ConfigurationError(
            f"The API base URL {url!r} must start with https:// (or http:// for a local server), e.g. "
            f"{example}. {where}."
        )
    root = f"{parts.scheme.lower()}://{parts.netloc}"
    if "/rest/" in f"{parts.path}/" or parts.query or parts.fragment:
        raise ConfigurationError(
            f"The API base URL {url!r} holds a path or query; give the scheme and host only, e.g. {root} "
            f"(the client adds /rest/v1/… itself). {where}."
        )
    return root + parts.path.rstrip("/")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps (requests → urllib3's MaxRetryError.reason → socket errors)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "reason", None), current.__cause__, current.__context__, *current.args])


def unreachable_reason(exc: BaseException, connect_timeout: float) -> str | None:
    """Why a request never reached an HTTP server at the base URL, or None for other failures.

    Covers a refused connection, a host name that does not resolve, a failed TLS handshake, no
    connection within `connect_timeout` and a peer that does not speak HTTP. A connection dropped or
    timed out after the request was sent is not one of these.
    """
    if not isinstance(exc, ConnectionError):
        return None
    if isinstance(exc, SSLError):
        for err in _causes(exc):
            if isinstance(err, ssl.SSLError):
                detail = getattr(err, "verify_message", None) or err.reason or str(err)
                text = str(detail).lower().replace("_", " ")
                hint = "; is it an http:// server?" if "wrong version" in text else ""
                return f"the TLS handshake failed ({text}{hint})"
        return "the TLS handshake failed"
    if isinstance(exc, ConnectTimeout):
        return f"no connection within {connect_timeout:g} s (a firewall, or a host that is down)"
    for err in _causes(exc):
        if isinstance(err, NameResolutionError | socket.gaierror):
            return "the host name does not resolve (DNS)"
        if isinstance(err, ConnectionRefusedError):
            return "connection refused (nothing listens on that port)"
        if isinstance(err, http.client.BadStatusLine) and not isinstance(err, http.client.RemoteDisconnected):
            return "the server does not speak HTTP"
    for err in _causes(exc):
        if isinstance(err, NewConnectionError):
            cause = err.__cause__ or err.__context__
            return f"no connection ({cause or err})"
    return None


def _html_page(response: Response) -> bool:
    """Whether an answer is a web page, which the API never sends except from a proxy's error page."""
    kind = response.headers.get("Content-Type", "").lower()
    return "html" in kind or (response.content or b"").lstrip()[:1] == b"<"


def _not_the_api(response: Response) -> bool:
    """A first answer that says the base URL is not the API's: a web page below 500, or 404 for its paths."""
    return response.status_code == 404 or (response.status_code < 500 and _html_page(response))


def _parse_total(headers: Mapping[str, str]) -> int | None:
    value = headers.get("X-Total-Count")
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _parse_date(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get("Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class WoodpeckerClient:
    """The one HTTP client a source run shares between its resources.

    Args:
        api_key: Woodpecker API key (sent as `x-api-key`).
        base_url: Scheme and host, e.g. `https://api.woodpecker.co`.
        stats: Where requests, retries and throttling answers are counted.
        company_id: With an agency key, the client company to read (sent as `x-company-id`).
        request_timeout: Seconds to wait for an answer (connect and read).
        max_attempts: Attempts per request, the first included.
        backoff_factor: Wait before retry n is `backoff_factor * 2**(n-1)` seconds (a `Retry-After`
            header wins); 0 retries at once (tests).
        max_retry_delay: Longest single wait.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        stats: RunStats,
        *,
        company_id: str | int | None = None,
        request_timeout: float = settings.DEFAULT_REQUEST_TIMEOUT_S,
        max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
        backoff_factor: float = settings.DEFAULT_BACKOFF_FACTOR,
        max_retry_delay: float = settings.MAX_RETRY_DELAY_S,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ConfigurationError(f"The Woodpecker API key is empty. Set {settings.SECRET_LOCATION_HINT}.")
        api_key = clean_api_key(api_key)
        if max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1.")
        self.stats = stats
        self.base_url = check_base_url(base_url)
        # Until the host gives one API answer, failures that say the base URL leads nowhere are final.
        self._reached_api = False
        self._connect_timeout = min(settings.CONNECT_TIMEOUT_S, request_timeout)
        self._lock = threading.Lock()
        self._resource = ""
        self._reasons: list[str | None] = []
        self._parsed: tuple[int, Any] | None = None
        self._last_fetched: datetime | None = None
        self._http = Client(
            request_timeout=(self._connect_timeout, request_timeout),
            raise_for_status=False,
            status_codes=(),
            exceptions=(),
            request_max_attempts=max_attempts,
            retry_condition=self._should_retry,
            request_backoff_factor=backoff_factor,
            request_max_retry_delay=max_retry_delay,
            respect_retry_after_header=True,
        )
        self._rest = RESTClient(
            base_url=self.base_url,
            auth=APIKeyAuth(name=settings.API_KEY_HEADER, api_key=api_key, location="header"),
            session=self._http.session,
            headers={settings.COMPANY_ID_HEADER: str(company_id).strip()} if company_id is not None else None,
        )
        self.max_attempts = max_attempts

    # -- retry policy -------------------------------------------------------------------------------

    def retry_reason(self, response: Response | None, exc: BaseException | None) -> str | None:
        """Why an attempt should be repeated, or None when its outcome is final.

        Retried: throttling (v1 409/400/200 and v2 429 answers carrying `E_TOO_MANY_REQUESTS`, any 429),
        5xx (JSON or HTML bodies), timeouts, dropped connections and 2xx bodies that are not valid JSON.
        Final: everything else, in particular 401/403 and other 4xx; and, until the host has given one
        API answer, what says the base URL leads nowhere (`unreachable_reason`, `_not_the_api`).
        """
        if exc is not None:
            if not self._reached_api and unreachable_reason(exc, self._connect_timeout) is not None:
                return None
            return type(exc).__name__ if isinstance(exc, RETRYABLE_EXCEPTIONS) else None
        if response is None:
            return None
        status = response.status_code
        if status in settings.AUTH_CODES:
            return None
        content = response.content or b""
        if _not_the_api(response):
            if not self._reached_api:
                return None
        else:
            self._reached_api = True  # the host answers like an API (or is briefly failing)
        if status == 429 or (status in (200, 400, 409) and settings.THROTTLE_CODE.encode() in content):
            return THROTTLE
        if status >= 500:
            return f"HTTP {status}"
        if 200 <= status < 300 and status != 204 and content.strip():
            try:
                self._parsed = (id(response), loads(content))
            except ValueError:
                return "invalid JSON body"
        return None

    def _should_retry(self, response: Response | None, exc: BaseException | None) -> bool:
        reason = self.retry_reason(response, exc)
        self._reasons.append(reason)
        self.stats.add_request(self._resource)
        if reason is not None:
            logger.info(
                "Woodpecker answer %s on attempt %d of %d (%s)",
                reason,
                len(self._reasons),
                self.max_attempts,
                self._resource,
            )
        return reason is not None

    # -- requests -------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = datetime.now(UTC)
        if self._last_fetched is not None and now <= self._last_fetched:
            now = self._last_fetched + timedelta(microseconds=1)
        self._last_fetched = now
        return now

    def get(self, path: str, params: Mapping[str, Any] | None, resource: str) -> Answer:
        """GET `path` with retries; one request in flight across the whole source.

        Args:
            path: Path below the base URL, e.g. `/rest/v1/prospects`.
            params: Query parameters (encoded by requests: `+` → `%2B`, `,` → `%2C`).
            resource: Resource name the request is counted under.

        Returns:
            The successful answer.

        Raises:
            AuthenticationError: 401 or 403, on the first such answer.
            ApiError: Any other error answer, or when attempts ran out.
        """
        return self.request("GET", path, resource, params=params)

    def post(self, path: str, body: Any, resource: str, accept: tuple[int, ...] = ()) -> Answer:
        """POST a JSON body with the same retries, throttling handling and lock as `get`.

        Args:
            path: Path below the base URL, e.g. `/rest/v1/add_prospects_list`.
            body: JSON-serialisable body.
            resource: Name the request is counted under.
            accept: Non-2xx statuses returned as an `Answer` instead of raised (the write endpoints
                answer 400 with per-prospect errors when no prospect was accepted).

        Returns:
            The answer (2xx, or a status listed in `accept`).

        Raises:
            AuthenticationError: 401 or 403, on the first such answer.
            ApiError: Any other error answer, or when attempts ran out.
        """
        return self.request("POST", path, resource, json=body, accept=accept)

    def request(
        self,
        method: str,
        path: str,
        resource: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        accept: tuple[int, ...] = (),
    ) -> Answer:
        """One request with retries; one request in flight across the whole client (see `get`)."""
        with self._lock:
            self._resource = resource
            self._reasons = []
            self._parsed = None
            logger.debug("%s %s params=%s (%s)", method, path, dict(params or {}), resource)
            try:
                response = self._rest.request(
                    path,
                    method=method,  # type: ignore[arg-type]
                    params=dict(params or {}),
                    json=json,
                )
            except RETRYABLE_EXCEPTIONS as exc:
                self._book_retries()
                reason = None if self._reached_api else unreachable_reason(exc, self._connect_timeout)
                if reason is not None:
                    raise UnreachableError(self.base_url, reason, method, path) from None
                raise ApiError(
                    0,
                    type(exc).__name__,
                    "no complete answer",
                    method,
                    path,
                    note=f"gave up after {len(self._reasons)} attempts; try again later",
                ) from None
            fetched_at = self._now()
            self._book_retries()
            final_reason = self._reasons[-1] if self._reasons else None
            body = self._parsed[1] if self._parsed and self._parsed[0] == id(response) else None
            self._parsed = None
            status = response.status_code
            if not self._reached_api and _not_the_api(response):
                if _html_page(response):
                    reason = f"it answered HTTP {status} with a web page, not the Woodpecker API's JSON"
                else:
                    code, message = error_details(_json_or_none(response), response.text)
                    said = (
                        f" ({' '.join(part for part in (code, message) if part)})" if code or message else ""
                    )
                    reason = f"it answered HTTP 404{said}: the API's paths are not there"
                raise UnreachableError(self.base_url, reason, method, path, status)
        if final_reason is not None:
            code, message = error_details(
                body if body is not None else _json_or_none(response), response.text
            )
            raise ApiError(
                status,
                code or final_reason,
                message,
                method,
                path,
                note=f"gave up after {len(self._reasons)} attempts; try again later",
            )
        if status in settings.AUTH_CODES:
            code, message = error_details(_json_or_none(response), response.text)
            raise AuthenticationError(status, code or settings.AUTH_CODES[status], message)
        if not 200 <= status < 300:
            if status in accept:
                return Answer(status, _json_or_none(response), None, fetched_at, fetched_at)
            code, message = error_details(_json_or_none(response), response.text)
            raise ApiError(status, code or f"HTTP {status}", message, method, path)
        if body is None and status != 204 and response.content.strip():
            body = loads(response.content)
        server_time = _parse_date(response.headers)
        if server_time is None:
            self.stats.add_note("the API sent no Date header; the local clock stood in for it")
            server_time = fetched_at
        return Answer(status, body, _parse_total(response.headers), fetched_at, server_time)

    def _book_retries(self) -> None:
        for reason in self._reasons[:-1]:
            self.stats.add_retry(throttled=reason == THROTTLE)
        if self._reasons and self._reasons[-1] == THROTTLE:
            self.stats.add_throttle()

    # -- endpoints ------------------------------------------------------------------------------------

    def prospects_page(self, params: Mapping[str, Any], resource: str) -> tuple[list[dict[str, Any]], Answer]:
        """One page of `GET /rest/v1/prospects` (rows are empty for 204 and the "no prospects" object)."""
        answer = self.get(settings.PROSPECTS_PATH, params, resource)
        return v1_rows(answer.body, "GET", settings.PROSPECTS_PATH), answer

    def campaign_list(
        self, resource: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], Answer]:
        """`GET /rest/v1/campaign_list` (the whole list; no paging exists)."""
        answer = self.get(settings.CAMPAIGN_LIST_PATH, params, resource)
        return v1_rows(answer.body, "GET", settings.CAMPAIGN_LIST_PATH), answer

    def campaign_details(self, campaign_id: int, resource: str) -> Answer:
        """`GET /rest/v2/campaigns/{id}`; raises `ApiError` (404, 409 …) for the caller to classify."""
        return self.get(settings.CAMPAIGN_V2_PATH.format(campaign_id=campaign_id), None, resource)


def _json_or_none(response: Response) -> Any:
    try:
        return loads(response.content) if response.content else None
    except ValueError:
        return None
