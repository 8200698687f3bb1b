"""`woodpecker-etl webhooks subscribe|unsubscribe|list` against the simulator, both 409 answers included."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import build_parser, main
from pipelines.commands.load import LoadArgs
from pipelines.exit_codes import ExitCode
from simulator import Simulator
from sources.woodpecker.settings import WEBHOOK_EVENT_NAMES

URL = "https://hooks.example.com/hooks/secret-token-abcdefghijk"


def _cli(sim: Simulator, *args: str) -> int:
    return main(["webhooks", *args, "--base-url", sim.base_url, "--api-key", sim.api_key])


def _pairs(sim: Simulator) -> set[tuple[str, str]]:
    return {(h["target_url"], h["event"]) for h in sim.account.webhooks}


def test_subscribe_list_unsubscribe(simulator: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(simulator, "subscribe", "--url", URL, "--events", "email_opened,prospect_replied") == 0
    assert _pairs(simulator) == {(URL, "email_opened"), (URL, "prospect_replied")}
    out = capsys.readouterr().out
    assert out.count("subscribed") == 2 and "secret-token" not in out

    # the same pair again: Woodpecker answers 409, which only means there is nothing to do
    assert _cli(simulator, "subscribe", "--url", URL, "--events", "email_opened") == 0
    assert "already subscribed" in capsys.readouterr().out
    assert len(simulator.account.webhooks) == 2

    assert _cli(simulator, "list") == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == [
        "email_opened                       https://hooks.example.com/hooks/***",
        "prospect_replied                   https://hooks.example.com/hooks/***",
    ]
    assert _cli(simulator, "list", "--show-urls") == 0
    assert URL in capsys.readouterr().out

    assert _cli(simulator, "unsubscribe", "--url", URL, "--events", "email_opened") == 0
    assert _pairs(simulator) == {(URL, "prospect_replied")}
    assert _cli(simulator, "unsubscribe", "--url", URL, "--all") == 0
    assert _pairs(simulator) == set()
    capsys.readouterr()
    assert _cli(simulator, "list") == 0
    assert capsys.readouterr().out.strip() == "no webhook subscriptions"


def test_a_fourth_url_for_one_event_is_a_clear_error(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):
        assert _cli(simulator, "subscribe", "--url", f"{URL}{n}", "--events", "link_clicked") == 0
    capsys.readouterr()
    code = _cli(simulator, "subscribe", "--url", f"{URL}x", "--events", "campaign_sent,link_clicked")
    assert code == ExitCode.API
    err = capsys.readouterr().err
    assert "at most 3 subscriptions per event" in err and "link_clicked" in err
    # the other event of the same command was subscribed
    assert (f"{URL}x", "campaign_sent") in _pairs(simulator)
    assert (f"{URL}x", "link_clicked") not in _pairs(simulator)


def test_all_events_and_unknown_names(simulator: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(simulator, "subscribe", "--url", URL, "--all") == 0
    assert _pairs(simulator) == {(URL, event) for event in WEBHOOK_EVENT_NAMES}
    assert _cli(simulator, "subscribe", "--url", URL, "--events", "email_openned") == ExitCode.CONFIGURATION
    assert "Unknown webhook event(s) email_openned" in capsys.readouterr().err


def test_load_takes_the_spool_from_the_command_line(tmp_path: Path) -> None:
    args = build_parser().parse_args(["load", "--webhook-spool", str(tmp_path)])
    assert LoadArgs.from_args(args).load_options(60.0).source_options == {"webhook_spool": str(tmp_path)}
    assert LoadArgs.from_args(build_parser().parse_args(["load"])).load_options(60.0).source_options == {}


def test_a_missing_api_key_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .dlt/secrets.toml here
    monkeypatch.delenv("SOURCES__WOODPECKER__API_KEY", raising=False)
    assert main(["webhooks", "list", "--base-url", "http://127.0.0.1:9"]) == ExitCode.CONFIGURATION
    assert "No Woodpecker API key" in capsys.readouterr().err


REFUSED = [
    "https://hooks.example.com/secret-token-abcdefghijk",  # no /hooks/ path
    "https://hooks.example.com/hooks/",  # no token
    "https://hooks.example.com/hooks/short",  # a token the receiver refuses to run with
    "https://hooks.example.com/hooks/secret-token-abcdefghijk/more",  # something after the token
    "https://hooks.example.com/hooks/secret token abcdefghijk",  # characters a token cannot hold
    "http://hooks.example.com/hooks/secret-token-abcdefghijk",  # the token in clear text
    "ftp://hooks.example.com/hooks/secret-token-abcdefghijk",
    "hooks.example.com/hooks/secret-token-abcdefghijk",  # no scheme
    "https:///hooks/secret-token-abcdefghijk",  # no host
    "https://hooks.example.com:99999/hooks/secret-token-abcdefghijk",
]
ACCEPTED = [
    URL,
    "https://hooks.example.com:8443/woodpecker/hooks/secret-token-abcdefghijk/",  # proxy prefix, slash
    "http://127.0.0.1:8780/hooks/secret-token-abcdefghijk",  # plain http on this machine
    "http://localhost:8780/hooks/secret-token-abcdefghijk?source=woodpecker",
]


def test_subscribe_refuses_a_url_the_receiver_would_reject(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    requests_before = len(simulator.requests)
    for url in REFUSED:
        code = _cli(simulator, "subscribe", "--url", url, "--events", "email_opened")
        assert code == ExitCode.CONFIGURATION, url
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, url
        assert "The URL must look like https://<host>[:port][/prefix]/hooks/<token>" in err[0]
        assert "secret-token-abcdefghijk" not in err[0]
    assert _pairs(simulator) == set()
    assert len(simulator.requests) == requests_before  # refused before anything was sent


def test_subscribe_accepts_the_urls_the_receiver_answers(simulator: Simulator) -> None:
    events = [
        "email_opened",
        "prospect_replied",
        "link_clicked",
        "campaign_sent",
    ]  # three URLs per event at most
    for url, event in zip(ACCEPTED, events, strict=True):
        assert _cli(simulator, "subscribe", "--url", url, "--events", event) == 0, url
    assert _pairs(simulator) == set(zip(ACCEPTED, events, strict=True))
