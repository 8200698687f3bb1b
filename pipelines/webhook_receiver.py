"""`woodpecker-etl webhooks serve`: a small ASGI receiver on uvicorn that spools Woodpecker's POSTs durably.

Woodpecker signs nothing, so the secret is in the URL: events are accepted on `/hooks/<token>` only;
any other path or method answers 404 without saying why. A body must declare its length and stay under
the limit (411, 413 — answered from the headers, before the body is read), and be JSON: an array of
event objects (the documented shape) or one object (older samples); anything else is 400. The answer is
200 only after every event of the body is written to the spool and fsynced, so an acknowledged event
survives a crash and an unacknowledged one is sent again by Woodpecker (which retries with back-off).
`GET /healthz` answers 200 while the spool directory exists.

The port faces the internet, so every resource a client can hold is bounded: a connection must finish
its request line and headers within `HEADER_TIMEOUT_S` and its body within `BODY_TIMEOUT_S` (else it is
closed, 408 for a slow body); an idle keep-alive connection is closed after `KEEP_ALIVE_S`; at most
`MAX_CONNECTIONS` connections are served (requests beyond answer 503, which Woodpecker retries); the
bodies held in memory at once are capped by `MAX_BUFFERED_BODY_BYTES` (503 beyond). The event loop runs
in one thread and the spool's fsync in one more, whatever the number of clients. A client that hangs
up costs one debug line, never a traceback; the request path (it carries the token) is never logged.

SIGTERM and SIGINT stop accepting, close idle connections, let requests under way finish (at most
`BODY_TIMEOUT_S` + 5 s), and close the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sources.webhook_spool import SpoolWriter

from . import defaults

logger = logging.getLogger(__name__)

HOOK_PREFIX = "/hooks/"
HEALTH_PATH = "/healthz"
DEFAULT_MAX_BODY_BYTES = defaults.WEBHOOK_MAX_BODY_BYTES
MIN_TOKEN_CHARS = 16
HEADER_TIMEOUT_S = defaults.WEBHOOK_HEADER_TIMEOUT_S
BODY_TIMEOUT_S = defaults.WEBHOOK_BODY_TIMEOUT_S
# An idle keep-alive connection is closed after this many seconds.
KEEP_ALIVE_S = 5
# Connections served at once; a request on a connection beyond answers 503 (Woodpecker retries).
MAX_CONNECTIONS = 2_000
# Pending connections the kernel queues while the server accepts.
LISTEN_BACKLOG = 2_048
# Largest request line + headers (431 beyond).
MAX_HEADER_BYTES = 16 * 1024
# Bytes of request bodies held in memory at once, over all connections; a body that would cross it
# answers 503.
MAX_BUFFERED_BODY_BYTES = 64 * 1024 * 1024
# Woodpecker batches at most 100 events per POST; a body with many more is not from Woodpecker.
MAX_EVENTS_PER_BODY = 1_000
# uvicorn warns once per bad request ("Invalid HTTP request received."); under a flood such a line is
# repeated at most once per this many seconds, with the number of repeats.
REPEATED_WARNING_INTERVAL_S = 60.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def parse_events(body: bytes) -> list[dict[str, Any]] | None:
    """The event objects of a body, or None when it is not a JSON object or array of objects."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    events = parsed if isinstance(parsed, list) else [parsed]
    if not all(isinstance(e, dict) for e in events) or len(events) > MAX_EVENTS_PER_BODY:
        return None
    return events


def check_token(token: str | None) -> str:
    """The token, or a ValueError saying why it cannot protect the endpoint."""
    if not token or len(token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"the receiver needs a secret token of at least {MIN_TOKEN_CHARS} characters "
            "(--token or WOODPECKER_WEBHOOK_TOKEN); make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))'"
        )
    if not _token_chars_ok(token):
        raise ValueError("the token may hold letters, digits, '-' and '_' only (it goes into a URL path)")
    return token


def _token_chars_ok(token: str) -> bool:
    return token.isascii() and all(c.isalnum() or c in "-_" for c in token)


TARGET_URL_SHAPE = (
    "https://<host>[:port][/prefix]/hooks/<token> (http:// only for localhost), where <token> is the "
    f"receiver's token: at least {MIN_TOKEN_CHARS} letters, digits, '-' or '_'"
)


def check_target_url(url: str) -> str:
    """The URL when the receiver would accept POSTs to it, else a ValueError saying what is wrong.

    The path must end in `/hooks/<token>` (a reverse proxy may strip a prefix before it); plain http is
    refused for anything but a loopback host, because the token in the path would cross the network in
    clear text.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("it is not a URL (the port is not a number from 0 to 65535)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the scheme must be https (or http for localhost) and the URL must name a host")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("plain http would send the token in clear text; use https (http for localhost only)")
    path = parts.path.rstrip("/")
    head, _, token = path.rpartition("/")
    if not head.endswith("/hooks") and head != "/hooks":
        raise ValueError("the path must end in /hooks/<token>")
    if len(token) < MIN_TOKEN_CHARS or not _token_chars_ok(token):
        raise ValueError(
            f"the token after /hooks/ must have at least {MIN_TOKEN_CHARS} letters, digits, '-' or '_'"
        )
    if parts.fragment:
        raise ValueError("the URL must not have a #fragment (it is never sent to the receiver)")
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RepeatedWarningFilter(logging.Filter):
    """Lets a repeated log message through once per interval, with the number of repeats it hid.

    Args:
        interval_s: Seconds between two lines of the same message.
    """

    def __init__(self, interval_s: float = REPEATED_WARNING_INTERVAL_S) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._hidden: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """True when the record is printed (first of its kind, or the interval has passed)."""
        if record.levelno >= logging.ERROR:
            return True
        key = str(record.msg)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._hidden[key] = self._hidden.get(key, 0) + 1
            return False
        self._last[key] = now
        hidden = self._hidden.pop(key, 0)
        if hidden:
            record.msg = f"{record.msg} (and {hidden} more like it in the last {now - last:.0f} s)"  # type: ignore[operator]
        return True


class ReceiverApp:
    """The ASGI application: the health check and the hook.

    Args:
        spool: Where events go.
        token: The secret path segment.
        max_body_bytes: Largest body accepted.
        body_timeout_s: Seconds a client has to send its body after its headers.
        max_buffered_bytes: Bytes of bodies held in memory at once, over all requests.
    """

    def __init__(
        self,
        spool: SpoolWriter,
        token: str,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
        max_buffered_bytes: int = MAX_BUFFERED_BODY_BYTES,
    ) -> None:
        self.spool = spool
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.max_buffered_bytes = max_buffered_bytes
        self.accepted = 0
        self.buffered = 0
        # Compared as digests of equal length: the time taken says nothing about the token's length.
        self._token_digest = hashlib.sha256(token.encode()).digest()
        # One thread writes and fsyncs; the event loop never blocks on the disk.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool-writer")

    def close(self) -> None:
        """Wait for a write under way, then stop the writer thread."""
        self._writer.shutdown(wait=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request (ASGI 3)."""
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            ok = self.spool.spool_dir.is_dir()
            await _answer(send, 200 if ok else 503, {"status": "ok" if ok else "spool missing"})
            return
        if method != "POST" or not self._token_matches(path):
            # The answer never says whether a token was wrong; the body is not read.
            await _answer(send, 404, {"error": "not found"}, close=_has_body(scope))
            return
        await self._hook(scope, receive, send)

    def _token_matches(self, path: str) -> bool:
        path = path.rstrip("/")
        if not path.startswith(HOOK_PREFIX):
            return False
        given = hashlib.sha256(path[len(HOOK_PREFIX) :].encode("utf-8", "surrogateescape")).digest()
        return hmac.compare_digest(given, self._token_digest)

    async def _hook(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        length_header = headers.get(b"content-length")
        if length_header is None or b"transfer-encoding" in headers:
            await _answer(send, 411, {"error": "Content-Length required"}, close=True)
            return
        try:
            length = int(length_header)  # the parser has refused most malformed values with 400 already
        except ValueError:
            length = -1
        if length < 0:
            await _answer(send, 400, {"error": "malformed Content-Length"}, close=True)
            return
        if length > self.max_body_bytes:
            # The body is not read: the connection is closed rather than drain an oversized upload.
            await _answer(send, 413, {"error": f"body larger than {self.max_body_bytes} bytes"}, close=True)
            return
        outcome, body = await self._read_body(receive)
        if outcome == "gone":
            logger.debug("a client hung up before sending its whole body")
            return
        if outcome == "slow":
            late = {"error": f"body not received within {self.body_timeout_s:g} s"}
            await _answer(send, 408, late, close=True)
            return
        if outcome == "busy":
            await _answer(send, 503, {"error": "busy, try again"}, close=True, retry_after=True)
            return
        events = parse_events(body)
        if events is None:
            await _answer(send, 400, {"error": "expected a JSON array of event objects or one event object"})
            return
        received_at = datetime.now(UTC).isoformat()
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._writer, self.spool.append, events, received_at)
        except OSError as exc:
            logger.error("could not write to the spool: %s", exc)
            await _answer(send, 503, {"error": "could not store the events"}, retry_after=True)
            return
        self.accepted += len(events)
        await _answer(send, 200, {"accepted": len(events)})

    async def _read_body(self, receive: Receive) -> tuple[str, bytes]:
        """`("ok", body)`, or `("gone" | "slow" | "busy", b"")` when the client hung up, was too slow,
        or the bodies in memory would exceed their cap."""
        chunks: list[bytes] = []
        held = 0
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return "gone", b""
                    chunk = message.get("body", b"")
                    if self.buffered + len(chunk) > self.max_buffered_bytes:
                        return "busy", b""
                    self.buffered += len(chunk)
                    held += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return "ok", b"".join(chunks)
        except TimeoutError:
            return "slow", b""
        finally:
            self.buffered -= held


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


async def _answer(
    send: Send, status: int, payload: dict[str, Any], close: bool = False, retry_after: bool = False
) -> None:
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    if retry_after:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap for the request line and headers.

    uvicorn closes idle keep-alive connections but lets a connection that sends its headers slowly (or
    nothing at all) stay open for ever, and does not cap their size; here a connection whose request has
    not got past its headers `header_timeout_s` after it opened, or after the first byte of its next
    request, is closed, and so is one whose headers exceed `MAX_HEADER_BYTES` (431).
    """

    header_timeout_s = HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None
    _awaiting_headers = True
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_late)

    def data_received(self, data: bytes) -> None:
        """Feed the parser; while headers are awaited, start the clock and count their bytes."""
        if self._awaiting_headers and self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_late)
        super().data_received(data)
        if self._awaiting_headers and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
                    b"connection: close\r\n\r\n"
                )
                self.transport.close()

    def on_headers_complete(self) -> None:
        """Stop the clock: the request's body has its own deadline (`ReceiverApp`)."""
        self._awaiting_headers = False
        self._header_bytes = 0
        self._stop_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """Await the next request's headers (the clock starts with its first byte)."""
        super().on_response_complete()
        if self.cycle is None or self.cycle.response_complete:  # no pipelined request parsed already
            self._awaiting_headers = True
            self._header_bytes = 0

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._stop_header_timer()
        super().connection_lost(exc)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_late(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            logger.debug("closed a connection that sent no complete headers in %s s", self.header_timeout_s)
            self.transport.close()


class ReceiverServer(uvicorn.Server):
    """uvicorn's server that reports when it listens and stops on SIGTERM/SIGINT without re-raising them.

    Args:
        config: The uvicorn configuration.
        on_ready: Called once the server accepts connections.
    """

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start serving, then call `on_ready`."""
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT ask for a graceful stop; the previous handlers come back afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def raise_open_file_limit(connections: int = MAX_CONNECTIONS) -> int:
    """Raise the soft limit of open files so that `connections` sockets fit (as far as the hard limit
    allows; many systems start processes with a soft limit of 1,024); the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = connections + 64  # the spool, the listening socket, the interpreter's own files
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        logger.warning(
            "at most %d open files allowed (ulimit -n): fewer than %d connections", soft, connections
        )
    return int(soft)


class ListenError(OSError):
    """The receiver cannot listen on the address (port in use, address not on this host, …)."""


def listen(host: str, port: int, backlog: int = LISTEN_BACKLOG) -> socket.socket:
    """A listening TCP socket, or ListenError with a one-line reason."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=backlog)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            reason = "the port is already in use"
        else:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None


@dataclass(frozen=True)
class Address:
    """Where the receiver listens."""

    host: str
    port: int


def serve(
    host: str,
    port: int,
    spool_dir: Path,
    token: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    on_ready: Callable[[Address], None] | None = None,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> int:
    """Receive webhooks until SIGTERM or SIGINT; returns the number of events accepted.

    Args:
        host: Interface to bind (put a TLS-terminating reverse proxy in front on a public host).
        port: Port to bind (0 = any free port).
        spool_dir: The spool directory.
        token: The secret path segment.
        max_body_bytes: Largest body accepted.
        on_ready: Called with the address once the receiver accepts connections.
        header_timeout_s: Seconds a connection has for its request line and headers.
        body_timeout_s: Seconds a request has for its body after its headers.

    Raises:
        SpoolLockedError: Another receiver writes to the spool.
        ListenError: The address cannot be bound.
        OSError: The spool directory cannot be created or written.
    """
    token = check_token(token)
    raise_open_file_limit()
    spool = SpoolWriter(spool_dir)
    app = ReceiverApp(spool, token, max_body_bytes, body_timeout_s=body_timeout_s)
    protocol = type("DeadlineProtocol", (DeadlineHttpToolsProtocol,), {"header_timeout_s": header_timeout_s})
    config = uvicorn.Config(
        app,
        loop="auto",  # uvloop
        http=protocol,
        lifespan="off",
        log_config=None,
        access_log=False,  # the request line carries the token
        proxy_headers=False,
        server_header=False,
        limit_concurrency=MAX_CONNECTIONS,
        backlog=LISTEN_BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=int(body_timeout_s) + 5,
    )
    config.load()
    repeated = RepeatedWarningFilter()
    uvicorn_logger = logging.getLogger("uvicorn.error")
    uvicorn_logger.addFilter(repeated)
    try:
        # Bound last, just before the loop accepts: connections do not wait in the backlog for a start.
        sock = listen(host, port)
        try:
            address = Address(host, int(sock.getsockname()[1]))
            ready = None if on_ready is None else (lambda: on_ready(address))
            ReceiverServer(config, on_ready=ready).run(sockets=[sock])
        finally:
            sock.close()
    finally:
        app.close()
        spool.close()
        uvicorn_logger.removeFilter(repeated)
    return app.accepted
