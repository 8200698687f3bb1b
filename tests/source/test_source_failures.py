"""Failures over real HTTP against the simulator: retries, give-ups, auth errors, secrets, v2 gaps."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from simulator import NO_ADDON_API_KEY, Simulator
from sources.woodpecker import woodpecker_source
from sources.woodpecker.errors import ApiError, AuthenticationError

from .harness import Loader, assert_matches_truth

MakeSim = Callable[..., Simulator]


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or current in seen:
            continue
        seen.append(current)
        todo.extend([current.__cause__, current.__context__, getattr(current, "exception", None)])
    return seen


def test_every_fault_kind_is_retried_and_the_load_is_complete(
    make_simulator: MakeSim, tmp_path: Path
) -> None:
    sim = make_simulator(prospects=500, campaigns=5)
    kinds = ["throttle", "throttle400", "error500", "bad_gateway", "unavailable", "drop", "truncated"]
    # the first request of the run gets one fault after the other; then faults hit later pages too
    sim.faults.script([*kinds, None, None, "throttle", None, None, None, "drop", None, "truncated"])
    loader = Loader(sim, tmp_path, options={"per_page": 200})
    run = loader.run()
    assert_matches_truth(loader)
    assert dict(sim.faults.injected) == {
        "throttle": 2,
        "throttle400": 1,
        "error500": 1,
        "bad_gateway": 1,
        "unavailable": 1,
        "drop": 2,
        "truncated": 2,
    }
    assert run.stats.retries == sim.faults.total == 10
    assert run.stats.throttled == 3
    assert run.stats.total_requests == len(run.requests)
    assert sim.max_concurrency == 1


def test_v2_throttling_and_server_errors_are_retried(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=300, campaigns=4)
    sim.faults.script([None, "throttle", "error500", None, "throttle"])  # after campaign_list: v2 reads
    loader = Loader(sim, tmp_path)
    run = loader.run()
    statuses = [r.status for r in run.requests if r.path.startswith("/rest/v2/")][:5]
    assert statuses[:3] == [429, 500, 200]
    assert run.stats.retries == 3 and run.stats.throttled == 2
    assert_matches_truth(loader, tables=("campaigns", "campaign_steps", "campaign_step_versions"))


def test_slow_answers_time_out_and_are_retried(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=300, campaigns=3, slow_fault_s=1.2)
    sim.faults.script([None, None, "slow"])
    loader = Loader(sim, tmp_path, options={"request_timeout": 0.4, "backoff_factor": 0.4})
    run = loader.run()
    assert run.stats.retries >= 1
    assert_matches_truth(loader)


def test_persistent_failure_raises_a_clear_error_and_keeps_the_cursors(
    make_simulator: MakeSim, tmp_path: Path
) -> None:
    sim = make_simulator(prospects=500, campaigns=4)
    loader = Loader(sim, tmp_path)
    loader.run()
    state_before = json.dumps(loader.pipeline.state["sources"], sort_keys=True, default=str)
    prospect_id = int(sim.truth().prospects.id.iloc[0])
    sim.account.advance(120)
    sim.account.edit_prospect(prospect_id, company="Changed Inc")
    # campaigns and the prospects' first stream answer, then every attempt at the next request fails
    sim.faults.script([None, None, *["unavailable"] * 3])
    with pytest.raises(PipelineStepFailed) as failure:
        loader.run(max_attempts=3)
    errors = [e for e in _chain(failure.value) if isinstance(e, ApiError)]
    assert errors, "the Woodpecker error must be in the cause chain"
    assert errors[0].status == 503 and "gave up after 3 attempts" in str(errors[0])
    loader.pipeline = (
        loader.pipeline.__class__.__new__(loader.pipeline.__class__) if False else loader.pipeline
    )
    assert json.dumps(loader.pipeline.state["sources"], sort_keys=True, default=str) == state_before
    assert not loader.pipeline.has_pending_data
    loader.run()
    assert_matches_truth(loader)
    assert loader.table("prospects").set_index("id").company[prospect_id] == "Changed Inc"


@pytest.mark.parametrize(("key", "status"), [("not-the-key-0123", 401), (NO_ADDON_API_KEY, 403)])
def test_auth_errors_stop_at_the_first_request(
    make_simulator: MakeSim, tmp_path: Path, key: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = make_simulator(prospects=50, campaigns=2)
    loader = Loader(sim, tmp_path)
    with pytest.raises(PipelineStepFailed) as failure:
        loader.pipeline.run(woodpecker_source(api_key=key, base_url=sim.base_url))
    auth = [e for e in _chain(failure.value) if isinstance(e, AuthenticationError)]
    assert auth and auth[0].status == status
    assert "SOURCES__WOODPECKER__API_KEY" in str(auth[0])
    assert len(sim.requests) == 1
    assert key not in str(failure.value) and key not in caplog.text


@contextmanager
def dlt_debug_log() -> Iterator[io.StringIO]:
    """dlt's own logger (which does not propagate to the root logger) at DEBUG, into a buffer.

    Enter it after a pipeline exists: dlt (re)creates its logger when its runtime starts.
    """
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    dlt_logger = logging.getLogger("dlt")
    level = dlt_logger.level
    dlt_logger.setLevel(logging.DEBUG)
    dlt_logger.addHandler(handler)
    try:
        yield buffer
    finally:
        dlt_logger.removeHandler(handler)
        dlt_logger.setLevel(level)


def test_the_key_is_nowhere_but_the_header(
    make_simulator: MakeSim,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = make_simulator(prospects=300, campaigns=3, api_key="sim-secret-7d1f0b2a9c")
    sim.faults.script(["throttle", None, "error500"])
    loader = Loader(sim, tmp_path)
    with dlt_debug_log() as log:
        loader.run()
        loader.run(reconcile=True)
    secret = sim.api_key.encode()
    dlt_lines = log.getvalue()
    assert "Making GET request" in dlt_lines and "headers=" in dlt_lines  # every request, with headers
    assert secret.decode() not in dlt_lines
    out, err = capfd.readouterr()
    assert secret.decode() not in out + err
    assert caplog.records and secret.decode() not in caplog.text
    assert secret.decode() not in str(loader.pipeline.last_trace)
    assert secret.decode() not in json.dumps(loader.pipeline.state, default=str)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert all(secret.decode() not in json.dumps(r.query) for r in sim.requests)


def test_campaign_details_409_and_404_keep_the_v1_row(make_simulator: MakeSim, tmp_path: Path) -> None:
    sim = make_simulator(prospects=300, campaigns=6, unsupported_share=0.34)
    truth = sim.truth()
    unsupported = set(truth.campaigns.loc[~truth.campaigns.details_available, "id"])
    assert unsupported
    vanishing = int(truth.campaigns.loc[truth.campaigns.details_available, "id"].iloc[-1])

    def delete_before_its_v2_read(record: Any) -> None:
        if record.path == f"/rest/v2/campaigns/{vanishing}":
            sim.account.delete_campaign(vanishing)

    sim.on_request(delete_before_its_v2_read)
    loader = Loader(sim, tmp_path)
    loader.run()
    campaigns = loader.table("campaigns").set_index("id")
    assert set(campaigns.index) == set(truth.campaigns.id)  # every v1 row is loaded
    assert set(campaigns.index[campaigns.details_status == "UNSUPPORTED"]) == unsupported
    assert (
        campaigns.loc[list(unsupported), "details_error"]
        == "Campaign contains currently unsupported features"
    ).all()
    assert campaigns.loc[vanishing, "details_status"] == "NOT_FOUND"
    assert campaigns.loc[vanishing, "details_error"]
    run = loader.run()
    assert run.flagged["campaigns"] == 1
    assert_matches_truth(loader)


def test_round_robin_extraction_is_also_correct(
    make_simulator: MakeSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTRACT__NEXT_ITEM_MODE", "round_robin")
    sim = make_simulator(prospects=600, campaigns=5)
    loader = Loader(sim, tmp_path, options={"per_page": 200})
    loader.run()
    assert_matches_truth(loader)
    sim.clock.advance(300)
    truth = sim.truth()
    active = truth.campaign_prospects[truth.campaign_prospects.status == "ACTIVE"].iloc[:3]
    for p, c in zip(active.prospect_id, active.campaign_id, strict=True):
        sim.account.record_reply(int(p), int(c))
    sim.clock.advance(60)
    loader.run()
    assert_matches_truth(
        loader, tables=("prospects", "campaign_prospects", "prospect_opens", "prospect_clicks")
    )
    loader.run()  # statistics owed from the previous run are fetched now at the latest
    assert_matches_truth(loader)
    assert sim.max_concurrency == 1
