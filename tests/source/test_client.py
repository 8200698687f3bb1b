"""The HTTP client over a real loopback socket: retries, errors, one request in flight, no key leaks."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from sources.woodpecker.client import WoodpeckerClient, error_details
from sources.woodpecker.errors import ApiError, AuthenticationError, ConfigurationError
from sources.woodpecker.progress import RunStats

from .scripted_server import Reply, scripted

KEY = "test-key-5f1c9a7e"
ROWS = [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": "b@example.com"}]
THROTTLE_V1 = {
    "status": {"status": "ERROR", "code": "E_TOO_MANY_REQUESTS", "msg": "Too many requests in one time"}
}
NO_ROWS = {"message": "There are no prospects matching the given criteria."}
OK = Reply(200, ROWS, {"X-Total-Count": "2"})


def _client(base_url: str, stats: RunStats | None = None, **kwargs: Any) -> WoodpeckerClient:
    options: dict[str, Any] = {"backoff_factor": 0.0, "max_attempts": 4, "request_timeout": 5.0}
    options.update(kwargs)
    return WoodpeckerClient(KEY, base_url, stats or RunStats(), **options)


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(Reply(409, THROTTLE_V1), id="v1-409"),
        pytest.param(Reply(400, THROTTLE_V1), id="v1-400"),
        pytest.param(Reply(200, THROTTLE_V1), id="v1-200"),
        pytest.param(Reply(429, {"title": "Too Many Requests", "status": 429}), id="v2-429"),
    ],
)
def test_throttling_answers_are_retried_and_counted(first: Reply) -> None:
    stats = RunStats()
    with scripted(first, OK) as server:
        rows, answer = _client(server.base_url, stats).prospects_page({"page": 1}, "prospects")
    assert rows == ROWS
    assert answer.total == 2
    assert len(server.seen) == 2
    assert (stats.retries, stats.throttled, stats.requests) == (1, 1, {"prospects": 2})


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(
            Reply(500, {"status": {"status": "ERROR", "code": "E_UNNOWN", "msg": "Unknown error."}}), id="500"
        ),
        pytest.param(Reply(502, "<html><body>Bad Gateway</body></html>"), id="502-html"),
        pytest.param(Reply(503, "<html><body>Service Unavailable</body></html>"), id="503-html"),
        pytest.param(Reply(200, b'[{"id": 1, "email": "a@exa'), id="truncated-json"),
        pytest.param(Reply(200, ROWS, mode="drop"), id="dropped-connection"),
        pytest.param(Reply(200, ROWS, mode="sleep", delay=1.5), id="timeout"),
    ],
)
def test_server_errors_and_broken_answers_are_retried(first: Reply) -> None:
    stats = RunStats()
    with scripted(first, OK) as server:
        rows, _ = _client(server.base_url, stats, request_timeout=0.5).prospects_page({}, "prospects")
    assert rows == ROWS
    assert len(server.seen) == 2
    assert (stats.retries, stats.throttled) == (1, 0)


def test_persistent_failure_gives_up_after_max_attempts_with_a_clear_error() -> None:
    stats = RunStats()
    unavailable = Reply(503, "<html>Service Unavailable</html>")
    with scripted(unavailable) as server, pytest.raises(ApiError) as err:
        _client(server.base_url, stats, max_attempts=3).prospects_page({}, "prospects")
    assert len(server.seen) == 3
    assert err.value.status == 503
    assert "gave up after 3 attempts" in str(err.value)
    assert "/rest/v1/prospects" in str(err.value)
    assert stats.retries == 2


def test_persistent_throttling_counts_every_throttled_answer() -> None:
    stats = RunStats()
    with scripted(Reply(409, THROTTLE_V1)) as server, pytest.raises(ApiError) as err:
        _client(server.base_url, stats, max_attempts=3).prospects_page({}, "prospects")
    assert err.value.code == "E_TOO_MANY_REQUESTS"
    assert (stats.retries, stats.throttled, len(server.seen)) == (2, 3, 3)


@pytest.mark.parametrize(
    ("status", "body", "code", "hint"),
    [
        (
            401,
            {"status": {"status": "ERROR", "code": "E_SESSION", "msg": "The API key ..."}},
            "E_SESSION",
            "rejected",
        ),
        (
            403,
            {"status": {"status": "ERROR", "code": "E_NO_PERMISSION", "msg": "Api access denied."}},
            "E_NO_PERMISSION",
            "add-on",
        ),
        (
            401,
            {"title": "Unauthorized", "status": 401, "detail": "Invalid api key"},
            "Unauthorized",
            "rejected",
        ),
    ],
)
def test_auth_errors_fail_on_the_first_answer(status: int, body: Any, code: str, hint: str) -> None:
    with scripted(Reply(status, body)) as server, pytest.raises(AuthenticationError) as err:
        _client(server.base_url).prospects_page({}, "prospects")
    assert len(server.seen) == 1
    message = str(err.value)
    assert f"{status} {code}" in message and hint in message
    assert "SOURCES__WOODPECKER__API_KEY" in message
    assert "\n" not in message
    assert KEY not in message


def test_other_client_errors_are_not_retried_and_carry_the_api_code() -> None:
    body = {"status": {"status": "ERROR", "code": "E_WRONG_PARAM", "msg": "Unknown param:madeUpParam"}}
    with scripted(Reply(400, body)) as server, pytest.raises(ApiError) as err:
        _client(server.base_url).prospects_page({"madeUpParam": 1}, "prospects")
    assert len(server.seen) == 1
    assert (err.value.status, err.value.code, err.value.api_message) == (
        400,
        "E_WRONG_PARAM",
        body["status"]["msg"],
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"type": "CAMPAIGN_NOT_EXIST", "message": "Campaign does not exist", "details": None},
            ("CAMPAIGN_NOT_EXIST", "Campaign does not exist"),
        ),
        (
            {
                "title": "Not Found",
                "status": 404,
                "detail": "No campaign",
                "timestamp": "2025-03-05 17:57:00",
            },
            ("Not Found", "No campaign"),
        ),
        (
            {"status": {"status": "ERROR", "code": "E_URL_NOT_FOUND", "msg": "URL not found: /x"}},
            ("E_URL_NOT_FOUND", "URL not found: /x"),
        ),
    ],
)
def test_error_details_reads_all_documented_shapes(body: Any, expected: tuple[str, str]) -> None:
    assert error_details(body) == expected


def test_v2_business_conflict_is_not_mistaken_for_throttling() -> None:
    body = {
        "type": "API_UNSUPPORTED_CAMPAIGN_FEATURES",
        "message": "Campaign contains currently unsupported features",
    }
    with scripted(Reply(409, body)) as server, pytest.raises(ApiError) as err:
        _client(server.base_url).campaign_details(7, "campaigns")
    assert len(server.seen) == 1
    assert (err.value.status, err.value.code) == (409, "API_UNSUPPORTED_CAMPAIGN_FEATURES")
    assert server.seen[0].path == "/rest/v2/campaigns/7"


@pytest.mark.parametrize("reply", [Reply(200, NO_ROWS), Reply(204, None)])
def test_no_rows_answers(reply: Reply) -> None:
    with scripted(reply) as server:
        rows, _ = _client(server.base_url).prospects_page({}, "prospects")
    assert rows == []


def test_key_travels_only_in_the_header_and_plus_is_encoded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with scripted(Reply(409, THROTTLE_V1), OK) as server:
        _client(server.base_url).prospects_page({"diff": "updated>2025-01-15T00:00:00+0200"}, "prospects")
    assert all(seen.headers.get("x-api-key") == KEY for seen in server.seen)
    assert all(KEY not in seen.raw_query and "authorization" not in seen.headers for seen in server.seen)
    assert "diff=updated%3E2025-01-15T00%3A00%3A00%2B0200" in server.seen[0].raw_query
    assert caplog.records, "DEBUG logging must be captured for this check to mean anything"
    assert KEY not in caplog.text


def test_one_request_in_flight_across_threads() -> None:
    with scripted(Reply(200, ROWS, {"X-Total-Count": "2"}, mode="sleep", delay=0.05)) as server:
        client = _client(server.base_url)
        threads = [
            threading.Thread(target=client.prospects_page, args=({"page": i}, "prospects")) for i in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert len(server.seen) == 6
    assert server.max_active == 1


def test_empty_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        WoodpeckerClient("  ", "http://127.0.0.1:9", RunStats())
