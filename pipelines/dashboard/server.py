"""The live dashboard: a minimal ASGI app served by uvicorn on 127.0.0.1, re-querying the marts per page load.

`GET /` builds the page from the marts in one short read-only session (nothing is held between
requests, so loads can write in between); `GET /healthz` answers `ok`; any other path is 404 and any
other method 405. The page is the same one `--export` writes.
"""

from __future__ import annotations

import asyncio
import html
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from ..exit_codes import CliError, ExitCode
from .marts import MartSource, build_payload
from .page import render

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def error_page(message: str) -> str:
    """A small page for a database that cannot be read right now."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Woodpecker engagement</title>"
        "</head><body style='font-family:system-ui,sans-serif;margin:48px'><h1>Dashboard unavailable</h1>"
        f"<p id='error'>{html.escape(message)}</p><p>Reload the page to try again.</p></body></html>"
    )


class DashboardApp:
    """The ASGI application."""

    def __init__(self, source: MartSource) -> None:
        self.source = source

    def page(self) -> tuple[int, str]:
        """Status and HTML of `GET /` (a locked or missing database gives 503 and a one-line reason)."""
        try:
            return 200, render(build_payload(self.source))
        except Exception as exc:
            # Imported on this path only, for start-up time: it pulls in dlt, which DuckDB files do without.
            from ..error_messages import translate_error

            error = exc if isinstance(exc, CliError) else translate_error(exc, None)
            log.warning("dashboard page failed: %s", error)
            return 503, error_page(str(error))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope.get("path", "/"), scope.get("method", "GET")
        if path not in ("/", "/index.html", "/healthz"):
            await _respond(send, 404, "text/plain", b"not found\n")
        elif method not in ("GET", "HEAD"):
            await _respond(send, 405, "text/plain", b"method not allowed\n", [(b"allow", b"GET, HEAD")])
        elif path == "/healthz":
            await _respond(send, 200, "text/plain", b"ok\n")
        else:
            status, text = await asyncio.to_thread(self.page)
            body = text.encode("utf-8")
            await _respond(send, status, "text/html; charset=utf-8", b"" if method == "HEAD" else body)


async def _respond(
    send: Send, status: int, content_type: str, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers + _SECURITY_HEADERS + (extra or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve(source: MartSource, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve the dashboard with uvicorn until interrupted; `on_ready` gets the URL once it listens.

    Raises:
        CliError: the address cannot be bound (exit code 2).
    """
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise CliError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.", ExitCode.CONFIGURATION
        ) from exc
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(DashboardApp(source), log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            shown = f"[{host}]" if ":" in host else host
            on_ready(f"http://{shown}:{bound}/")
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()
