"""Exceptions raised by the Woodpecker source. Messages never contain the API key or request headers."""

from __future__ import annotations

from .settings import DEFAULT_BASE_URL, SECRET_LOCATION_HINT


class WoodpeckerError(Exception):
    """Base class of every error the Woodpecker source raises on purpose."""


class ConfigurationError(WoodpeckerError):
    """A source argument is missing or invalid (raised before any request is made)."""


class AuthenticationError(WoodpeckerError):
    """Woodpecker rejected the API key (401) or the account may not use the API (403).

    Raised on the first such answer; these are never retried.
    """

    def __init__(self, status: int, code: str, api_message: str = "") -> None:
        self.status = status
        self.code = code
        self.api_message = api_message
        if status == 401:
            text = f"Woodpecker rejected the API key ({status} {code}). Check {SECRET_LOCATION_HINT}."
        else:
            text = (
                f"Woodpecker denied API access ({status} {code}): the account needs the 'API Key and "
                f"Integrations' add-on and an active subscription, or the key belongs to another company "
                f"(with an agency key: the x-company-id is not an active client company). "
                f"Check the plan in Woodpecker or the key in {SECRET_LOCATION_HINT}."
            )
        super().__init__(text)


class ApiError(WoodpeckerError):
    """Woodpecker answered with an error that retrying does not fix, or kept failing until attempts ran out.

    Attributes:
        status: HTTP status of the last answer (0 when no answer arrived, e.g. connection errors).
        code: The API's error code (`E_WRONG_PARAM`, `CAMPAIGN_NOT_EXIST`, …) or a short description.
        api_message: The API's own message.
        path: Request path (no query string, no headers).
    """

    def __init__(
        self, status: int, code: str, api_message: str, method: str, path: str, note: str = ""
    ) -> None:
        self.status = status
        self.code = code
        self.api_message = api_message
        self.method = method
        self.path = path
        where = f"{method} {path}"
        status_text = f"{status} " if status else ""
        text = f"Woodpecker API error {status_text}{code} on {where}"
        if api_message:
            text += f": {api_message}"
        if note:
            text += f" ({note})"
        super().__init__(text)


class UnreachableError(ApiError):
    """The base URL leads nowhere useful: no connection, no TLS, or a server that is not the Woodpecker API.

    Raised at once, without the retries meant for a busy or briefly failing API, when the host has not
    given one API answer yet in this run; a host that answered before and then fails is retried as usual.

    Attributes:
        base_url: The base URL in use (scheme and host; it never holds the key).
        reason: What went wrong, in words (`connection refused`, `host name not found` …).
    """

    def __init__(self, base_url: str, reason: str, method: str, path: str, status: int = 0) -> None:
        super().__init__(status, "UNREACHABLE", reason, method, path)
        self.base_url = base_url
        self.reason = reason
        text = (
            f"The Woodpecker API at {base_url} cannot be used: {reason} (on {method} {path}). Check "
            f"--base-url or SOURCES__WOODPECKER__BASE_URL: scheme and host only, default "
            f"{DEFAULT_BASE_URL}; and that this machine can reach that host."
        )
        Exception.__init__(self, text)
