"""Reading `[accounts.<name>]` from the environment: names, keys, agency key and company id, selection."""

from __future__ import annotations

import pytest

from pipelines.accounts import Account, configured_names, resolve_account, select_accounts
from pipelines.exit_codes import CliError, ExitCode
from pipelines.load_options import LoadOptions
from pipelines.many_accounts import account_options, default_workers


@pytest.fixture(autouse=True)
def accounts_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNTS__ACME__API_KEY", "acme-key")
    monkeypatch.setenv("ACCOUNTS__GLOBEX__COMPANY_ID", "4711")
    monkeypatch.setenv("ACCOUNTS__GLOBEX__BASE_URL", "http://globex.example")
    monkeypatch.setenv("ACCOUNTS__AGENCY_KEY", "the-agency-key")
    monkeypatch.setenv("ACCOUNTS__BASE_URL", "http://shared.example")


def test_names_come_from_the_environment_and_shared_keys_are_not_accounts() -> None:
    names = configured_names()
    assert {"acme", "globex"} <= set(names)
    assert "agency_key" not in names and "base_url" not in names
    env = {"ACCOUNTS__X1__API_KEY": "k", "ACCOUNTS__X2__OTHER": "v", "ACCOUNTS__AGENCY_KEY": "a"}
    assert "x1" in configured_names(env) and "x2" not in configured_names(env)


def test_own_key_and_agency_key_with_company_id() -> None:
    acme = resolve_account("acme")
    assert (acme.api_key, acme.company_id, acme.base_url) == ("acme-key", None, "http://shared.example")
    globex = resolve_account("globex")
    assert (globex.api_key, globex.company_id, globex.base_url) == (
        "the-agency-key",
        "4711",
        "http://globex.example",
    )
    assert "the-agency-key" not in repr(globex)


def test_selection_all_list_and_unknown() -> None:
    assert [a.name for a in select_accounts("all", ["acme", "globex"])] == ["acme", "globex"]
    assert [a.name for a in select_accounts("globex, ACME,globex", ["acme", "globex"])] == ["globex", "acme"]
    with pytest.raises(CliError) as err:
        select_accounts("acme,nope", ["acme", "globex"])
    assert err.value.code == ExitCode.CONFIGURATION and "nope" in str(err.value)
    with pytest.raises(CliError, match="No accounts configured"):
        select_accounts("all", [])


@pytest.mark.parametrize("name", ["all", "Bad-Name", "9lives", "x" * 41])
def test_unusable_names_are_refused(name: str) -> None:
    with pytest.raises(CliError) as err:
        select_accounts(name, [name])
    assert err.value.code == ExitCode.CONFIGURATION


def test_each_account_gets_its_own_pipeline_and_dataset_or_column() -> None:
    base = LoadOptions(dataset="woodpecker", pipeline_name="woodpecker")
    acme = resolve_account("acme")
    own = account_options(base, acme, "dataset")
    assert (own.pipeline_name, own.dataset, own.account_id) == ("woodpecker_acme", "woodpecker_acme", None)
    shared = account_options(base, acme, "column")
    assert (shared.pipeline_name, shared.dataset) == ("woodpecker_acme", "woodpecker")
    assert shared.account_id == "acme"
    assert shared.transform is False  # marts are built per account after the shared load
    with pytest.raises(CliError, match="ACCOUNTS__NOKEY__API_KEY") as err:
        account_options(base, Account("nokey"), "dataset")
    assert err.value.code == ExitCode.CONFIGURATION
    assert [default_workers(n) for n in (1, 3, 4, 9)] == [1, 3, 4, 4]
