"""The simulator's agency key: `x-company-id` selects the client company; anything else is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from simulator import Simulator

AGENCY = "agency-key-for-tests"


def _get(sim: Simulator, key: str, company: str | None = None) -> requests.Response:
    headers = {"x-api-key": key}
    if company is not None:
        headers["x-company-id"] = company
    return requests.get(f"{sim.base_url}/rest/v1/campaign_list", headers=headers, timeout=10)


@pytest.fixture
def client_company(make_simulator: Callable[..., Simulator]) -> Simulator:
    return make_simulator(prospects=50, campaigns=3, agency_key=AGENCY, company_id=321)


def test_agency_key_with_the_company_id_reads_the_account(client_company: Simulator) -> None:
    by_agency = _get(client_company, AGENCY, "321")
    own = _get(client_company, client_company.api_key)
    assert by_agency.status_code == own.status_code == 200
    assert by_agency.json() == own.json() and len(own.json()) == 3


@pytest.mark.parametrize("company", [None, "", "999"])
def test_agency_key_without_this_company_gets_no_permission(
    client_company: Simulator, company: str | None
) -> None:
    answer = _get(client_company, AGENCY, company)
    assert answer.status_code == 403
    assert answer.json()["status"]["code"] == "E_NO_PERMISSION"


def test_a_company_without_agency_rejects_any_other_key(make_simulator: Callable[..., Simulator]) -> None:
    sim = make_simulator(prospects=20, campaigns=2)
    assert _get(sim, AGENCY, "1").status_code == 401
    assert _get(sim, "").status_code == 401


def test_the_source_sends_the_company_id(client_company: Simulator) -> None:
    from sources.woodpecker import woodpecker_source

    source = woodpecker_source(api_key=AGENCY, base_url=client_company.base_url, company_id="321")
    rows = list(source.with_resources("campaigns"))
    assert rows and {r.path for r in client_company.requests} >= {"/rest/v1/campaign_list"}
    assert not [r for r in client_company.requests if r.status in (401, 403)]
