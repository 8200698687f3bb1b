"""Source arguments: missing or invalid configuration fails before any request, with a clear message."""

from __future__ import annotations

from typing import Any

import pytest
from dlt.common.configuration.exceptions import ConfigFieldMissingException

from sources.woodpecker import woodpecker_source
from sources.woodpecker.errors import ConfigurationError

RESOURCES = [
    "campaigns",
    "prospects",
    "campaign_prospects",
    "prospect_opens",
    "prospect_clicks",
    "campaign_stats",
]


def test_missing_key_is_dlts_missing_field_naming_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SOURCES__WOODPECKER__WOODPECKER__API_KEY",
        "SOURCES__WOODPECKER__API_KEY",
        "SOURCES__API_KEY",
        "API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigFieldMissingException) as err:
        woodpecker_source()
    assert "api_key" in err.value.fields
    assert "SOURCES__WOODPECKER__API_KEY" in str(err.value)


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__WOODPECKER__API_KEY", "from-env-key")
    source = woodpecker_source()
    assert list(source.resources) == RESOURCES


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_key": ""}, "SOURCES__WOODPECKER__API_KEY"),
        ({"api_key": "k", "per_page": 0}, "per_page"),
        ({"api_key": "k", "per_page": 1001}, "per_page"),
        ({"api_key": "k", "max_attempts": 0}, "max_attempts"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        woodpecker_source(**kwargs)


def test_resources_run_in_the_documented_order() -> None:
    assert list(woodpecker_source(api_key="k").resources) == RESOURCES
