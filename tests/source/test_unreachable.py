"""A base URL that leads nowhere fails at once, naming host and reason; a host that answered is retried."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sources.woodpecker.client import WoodpeckerClient, check_base_url
from sources.woodpecker.errors import ApiError, ConfigurationError, UnreachableError
from sources.woodpecker.progress import RunStats

from .scripted_server import Reply, scripted

KEY = "test-key-5f1c9a7e"
ROWS = [{"id": 1, "email": "a@example.com"}]
OK = Reply(200, ROWS, {"X-Total-Count": "1"})
HTML = "<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>"


def _client(base_url: str, **kwargs: float) -> WoodpeckerClient:
    """A client with the production retry budget (8 attempts, 1 s back-off): only a final error is fast."""
    return WoodpeckerClient(KEY, base_url, RunStats(), **kwargs)  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _not_http() -> Iterator[int]:
    """A TCP server that greets like SSH and closes: something listens, but not HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


def _fails_fast(base_url: str) -> UnreachableError:
    started = time.monotonic()
    with pytest.raises(UnreachableError) as err:
        _client(base_url).prospects_page({}, "prospects")
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert base_url.rstrip("/") in message and "--base-url" in message
    assert KEY not in message and "\n" not in message
    return err.value


def test_closed_port_is_refused_at_once() -> None:
    error = _fails_fast(f"http://127.0.0.1:{_closed_port()}")
    assert "connection refused" in error.reason


def test_unknown_host_name_fails_at_once() -> None:
    # .invalid never resolves (RFC 6761), with or without internet access.
    error = _fails_fast("http://woodpecker-api.invalid")
    assert "does not resolve" in error.reason


def test_tls_to_a_plain_http_server_fails_at_once() -> None:
    with scripted(OK) as server:
        error = _fails_fast(server.base_url.replace("http://", "https://"))
        assert server.seen == []
    assert "TLS handshake failed" in error.reason and "http://" in error.reason


def test_a_server_that_does_not_speak_http_fails_at_once() -> None:
    with _not_http() as port:
        error = _fails_fast(f"http://127.0.0.1:{port}")
    assert "does not speak HTTP" in error.reason


@pytest.mark.parametrize("status", [200, 404])
def test_a_web_page_is_not_the_api_and_is_asked_once(status: int) -> None:
    with scripted(Reply(status, HTML, {"Content-Type": "text/html"})) as server:
        error = _fails_fast(server.base_url)
    assert len(server.seen) == 1
    assert f"HTTP {status} with a web page" in error.reason


def test_a_json_404_on_first_contact_means_the_api_paths_are_not_there() -> None:
    body = {"detail": "Not Found"}  # e.g. another JSON service, or a proxy prefix that is wrong
    with scripted(Reply(404, body)) as server:
        error = _fails_fast(server.base_url + "/woodpecker")
    assert len(server.seen) == 1
    assert "HTTP 404" in error.reason and "Not Found" in error.reason
    assert "the API's paths are not there" in error.reason


def test_a_404_after_api_answers_is_the_apis_own_error() -> None:
    body = {"title": "Not Found", "detail": "CAMPAIGN_NOT_EXIST"}
    with scripted(OK, Reply(404, body)) as server:
        client = _client(server.base_url)
        client.prospects_page({}, "prospects")
        with pytest.raises(ApiError) as err:
            client.campaign_details(1, "campaigns")
    assert not isinstance(err.value, UnreachableError)
    assert err.value.status == 404 and len(server.seen) == 2


def test_a_web_page_after_api_answers_is_retried_like_any_broken_answer() -> None:
    with scripted(OK, Reply(200, HTML, {"Content-Type": "text/html"}), OK) as server:
        client = _client(server.base_url, backoff_factor=0.0)
        client.prospects_page({}, "prospects")
        rows, _ = client.prospects_page({}, "prospects")
    assert rows == ROWS
    assert len(server.seen) == 3


def test_a_host_that_answered_and_then_refuses_gets_the_retry_budget() -> None:
    with scripted(OK) as server:
        client = _client(server.base_url, backoff_factor=0.0, max_attempts=3)
        client.prospects_page({}, "prospects")
    with pytest.raises(ApiError) as err:
        client.prospects_page({}, "prospects")
    assert not isinstance(err.value, UnreachableError)
    assert "gave up after 3 attempts" in str(err.value)


def test_server_errors_on_first_contact_still_get_the_retry_budget() -> None:
    with scripted(Reply(503, HTML, {"Content-Type": "text/html"}), OK) as server:
        rows, _ = _client(server.base_url, backoff_factor=0.0).prospects_page({}, "prospects")
    assert rows == ROWS
    assert len(server.seen) == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.woodpecker.co", "https://api.woodpecker.co"),
        (" https://api.woodpecker.co/ \n", "https://api.woodpecker.co"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("https://proxy.example.com/woodpecker", "https://proxy.example.com/woodpecker"),
    ],
)
def test_base_urls_that_can_be_the_api(url: str, expected: str) -> None:
    assert check_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("ftp://api.woodpecker.co", "https://api.woodpecker.co"),
        ("api.woodpecker.co", "https://api.woodpecker.co"),
        ("localhost:8765", "https://localhost:8765"),
        ("https://api.woodpecker.co/rest/v1/", "https://api.woodpecker.co "),
        ("https://api.woodpecker.co/rest/v2", "https://api.woodpecker.co "),
        ("https://api.woodpecker.co?x=1", "https://api.woodpecker.co "),
        ("https://", "https://api.woodpecker.co"),
    ],
)
def test_base_urls_that_cannot_be_the_api_are_configuration_errors(url: str, fix: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        WoodpeckerClient(KEY, url, RunStats())
    message = str(err.value)
    assert repr(url.strip()) in message
    assert f"e.g. {fix}" in message
    assert "--base-url" in message
