"""`woodpecker-etl webhooks serve`: a small receiver that spools Woodpecker's webhook POSTs durably.

Woodpecker signs nothing, so the secret is in the URL: events are accepted on `/hooks/<token>` only;
any other path answers 404 without saying why. A body must declare its length and stay under the
limit (411, 413), and be JSON: an array of event objects (the documented shape) or one object (older
samples); anything else is 400. The answer is 200 only after every event of the body is written to the
spool and fsynced, so an acknowledged event survives a crash and an unacknowledged one is sent again by
Woodpecker (which retries with back-off). `GET /healthz` answers 200 while the spool is writable.
SIGTERM and SIGINT stop accepting, let requests under way finish (idle keep-alive connections are
closed within `SOCKET_TIMEOUT_S`), and close the spool.
"""

from __future__ import annotations

import hmac
import json
import logging
import signal
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from sources.woodpecker.webhook_spool import SpoolWriter

logger = logging.getLogger(__name__)

HOOK_PREFIX = "/hooks/"
HEALTH_PATH = "/healthz"
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
MIN_TOKEN_CHARS = 16
# Seconds a connection may stay silent (idle keep-alive, or a client sending slowly) before it is closed;
# also bounds how long a stop waits for idle connections.
SOCKET_TIMEOUT_S = 10.0
# Woodpecker batches at most 100 events per POST; a body with many more is not from Woodpecker.
MAX_EVENTS_PER_BODY = 1_000


class ReceiverServer(ThreadingHTTPServer):
    """A threading HTTP server with the spool, the token and the limits of the receiver.

    Request threads are not daemons and `server_close` waits for them: a stop lets every request under
    way finish its write and its answer.
    """

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], spool: SpoolWriter, token: str, max_body_bytes: int) -> None:
        super().__init__(address, ReceiverHandler)
        self.spool = spool
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.accepted = 0
        self.stopping = False
        self._count_lock = threading.Lock()

    def count(self, n: int) -> None:
        """Add `n` accepted events to the counter."""
        with self._count_lock:
            self.accepted += n


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


class ReceiverHandler(BaseHTTPRequestHandler):
    """Answers webhook POSTs and the health check."""

    server: ReceiverServer
    protocol_version = "HTTP/1.1"
    server_version = "woodpecker-etl-webhooks"
    sys_version = ""
    timeout = SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        """Log without the request line: the path carries the token."""
        logger.debug("%s %s", self.address_string(), format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Request lines are not logged: they would put the token in the log."""

    def do_GET(self) -> None:
        if self.path == HEALTH_PATH:
            ok = self.server.spool.segment.parent.is_dir()
            self._answer(200 if ok else 503, {"status": "ok" if ok else "spool missing"})
            return
        self._not_found()

    def do_POST(self) -> None:
        if not self._token_matches():
            self._not_found()
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.strip().isdigit():
            self.close_connection = True
            self._answer(411, {"error": "Content-Length required"})
            return
        length = int(length_header)
        if length > self.server.max_body_bytes:
            # The body is not read: close the connection rather than drain an oversized upload.
            self.close_connection = True
            self._answer(413, {"error": f"body larger than {self.server.max_body_bytes} bytes"})
            return
        body = self.rfile.read(length)
        events = parse_events(body)
        if events is None:
            self._answer(400, {"error": "expected a JSON array of event objects or one event object"})
            return
        received_at = datetime.now(UTC).isoformat()
        try:
            self.server.spool.append(events, received_at)
        except OSError as exc:
            logger.error("could not write to the spool: %s", exc)
            self._answer(503, {"error": "could not store the events"})
            return
        self.server.count(len(events))
        if self.server.stopping:
            self.close_connection = True
        self._answer(200, {"accepted": len(events)})

    def do_PUT(self) -> None:
        self._not_found()

    def do_DELETE(self) -> None:
        self._not_found()

    def _token_matches(self) -> bool:
        path = self.path.split("?", 1)[0].rstrip("/")
        if not path.startswith(HOOK_PREFIX):
            return False
        given = path[len(HOOK_PREFIX) :].encode()
        return hmac.compare_digest(given, self.server.token.encode())

    def _not_found(self) -> None:
        # Drain a small body so the connection stays usable; the answer never says whether a token was wrong.
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= self.server.max_body_bytes:
            self.rfile.read(int(length))
        else:
            self.close_connection = True
        self._answer(404, {"error": "not found"})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def check_token(token: str | None) -> str:
    """The token, or a ValueError saying why it cannot protect the endpoint."""
    if not token or len(token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"the receiver needs a secret token of at least {MIN_TOKEN_CHARS} characters "
            "(--token or WOODPECKER_WEBHOOK_TOKEN); make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))'"
        )
    if not all(c.isalnum() or c in "-_" for c in token):
        raise ValueError("the token may hold letters, digits, '-' and '_' only (it goes into a URL path)")
    return token


def serve(
    host: str,
    port: int,
    spool_dir: Path,
    token: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    on_ready: Any = None,
) -> int:
    """Receive webhooks until SIGTERM or SIGINT; returns the number of events accepted.

    Args:
        host: Interface to bind (put a TLS-terminating reverse proxy in front on a public host).
        port: Port to bind (0 = any free port).
        spool_dir: The spool directory.
        token: The secret path segment.
        max_body_bytes: Largest body accepted.
        on_ready: Called with the server once it listens (prints the address on the command line).
    """
    spool = SpoolWriter(spool_dir)
    server = ReceiverServer((host, port), spool, check_token(token), max_body_bytes)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run in the thread serving.
        server.stopping = True
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_ready is not None:
            on_ready(server)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()  # waits for requests under way
        spool.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return server.accepted
