"""The API key as read from a flag, the environment or `.dlt/secrets.toml`: cleaned, checked, never shown.

Keys copied from a file or a secret store often carry a trailing newline or surrounding spaces; those
are stripped. What is left must look like a key: printable ASCII without spaces, of a sane length.
Anything else (a control character such as an embedded CR/LF, a non-ASCII letter, a space inside,
thousands of characters) is refused before a request is made, because the HTTP layer would either
reject the header with the key in its message or send a key that cannot be right. The message says
what is wrong and where, never the key itself.
"""

from __future__ import annotations

import unicodedata

from .errors import ConfigurationError
from .settings import SECRET_LOCATION_HINT

# Woodpecker keys are a few dozen characters; anything this long is a pasted file, not a key.
MAX_KEY_LENGTH = 512


def _problem(key: str) -> str | None:
    """What makes a (stripped) key impossible, without quoting it; None when it looks like a key."""
    if not key:
        return "is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"is {len(key):,} characters long (a key has at most {MAX_KEY_LENGTH})"
    for position, char in enumerate(key, start=1):
        if char.isspace():
            return f"contains whitespace at character {position}"
        if unicodedata.category(char).startswith("C"):
            return f"contains a control character at character {position}"
        if not char.isascii():
            return f"contains a non-ASCII character at character {position}"
    return None


def clean_api_key(key: object) -> str:
    """The key without surrounding whitespace, or a `ConfigurationError` that does not contain it.

    Args:
        key: The key as configured (a string; other types are refused).

    Returns:
        The key, stripped.

    Raises:
        ConfigurationError: the key is empty or holds characters no key can hold.
    """
    text = key if isinstance(key, str) else ""
    cleaned = text.strip()
    problem = _problem(cleaned)
    if problem is not None:
        raise ConfigurationError(
            f"The Woodpecker API key {problem}; a key is printable ASCII without spaces. Copy it again "
            f"from Woodpecker (Settings → API Keys) into {SECRET_LOCATION_HINT}."
        )
    return cleaned
