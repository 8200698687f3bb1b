"""Several Woodpecker accounts in one configuration: `[accounts.<name>]` tables in `.dlt/*.toml` or env.

Each account is a table under `accounts` with either its own key or an agency key and a client company::

    # .dlt/secrets.toml
    [accounts]
    agency_key = "…"            # optional: shared by every account that sets company_id

    [accounts.acme]
    api_key = "…"               # the client company's own key

    [accounts.globex]
    company_id = 4711           # agency key + x-company-id (company_id may live in config.toml)

Environment variables work the same way (`ACCOUNTS__ACME__API_KEY`, `ACCOUNTS__GLOBEX__COMPANY_ID`,
`ACCOUNTS__AGENCY_KEY`). `base_url` may be set per account or once under `[accounts]`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dlt

from .exit_codes import CliError, ExitCode

SECTION = "accounts"
# Keys of the `[accounts]` table itself that are settings shared by all accounts, not account names.
SHARED_KEYS = ("agency_key", "base_url")
ACCOUNT_KEYS = ("api_key", "agency_key", "company_id", "base_url", "webhook_spool")
# Account names become part of pipeline and dataset names.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Reserved: `--accounts all` selects every account, and `<dataset>_all` holds the cross-account views.
RESERVED_NAMES = ("all",)


@dataclass(frozen=True)
class Account:
    """One configured account.

    Attributes:
        name: Its name in the configuration (lower case; used in pipeline and dataset names).
        api_key: The key sent as `x-api-key` (a company's own key, or the agency key); kept out of repr.
        company_id: Client company sent as `x-company-id` with an agency key; None for an own key.
        base_url: API scheme and host; None for the source's default.
        webhook_spool: Spool directory of this account's webhook receiver; None when it has none.
    """

    name: str
    api_key: str | None = field(repr=False, default=None)
    company_id: str | None = None
    base_url: str | None = None
    webhook_spool: str | None = None


def _config_value(key: str) -> Any:
    """A value from any provider (environment, secrets.toml, config.toml), or None."""
    value: Any = dlt.config.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def configured_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the accounts in the configuration: tables under `[accounts]` and `ACCOUNTS__<NAME>__*`."""
    names: set[str] = set()
    for provider in dlt.config.config_providers:
        value: Any = provider.get_value(SECTION, Mapping, None)[0]
        if isinstance(value, Mapping):
            names.update(str(k).lower() for k, v in value.items() if isinstance(v, Mapping))
    prefix = SECTION.upper() + "__"
    for variable in environ if environ is not None else os.environ:
        parts = variable.split("__")
        if len(parts) == 3 and variable.startswith(prefix) and parts[2].lower() in ACCOUNT_KEYS:
            names.add(parts[1].lower())
    return sorted(name for name in names if name not in SHARED_KEYS)


def check_name(name: str) -> None:
    """Refuse account names that cannot be part of a pipeline or dataset name.

    Raises:
        CliError: with the rule in the message.
    """
    if not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
        raise CliError(
            f"Account name {name!r} is not usable: use a lower-case letter followed by letters, digits "
            f"or underscores (at most 40), and not {', '.join(RESERVED_NAMES)}.",
            ExitCode.CONFIGURATION,
        )


def resolve_account(name: str) -> Account:
    """Read one account's settings. The key may be missing: that account then fails alone when run."""
    check_name(name)
    company = _config_value(f"{SECTION}.{name}.company_id")
    key = _config_value(f"{SECTION}.{name}.api_key")
    if key is None and company is not None:
        key = _config_value(f"{SECTION}.{name}.agency_key") or _config_value(f"{SECTION}.agency_key")
    base_url = _config_value(f"{SECTION}.{name}.base_url") or _config_value(f"{SECTION}.base_url")
    spool = _config_value(f"{SECTION}.{name}.webhook_spool")
    return Account(
        name=name,
        api_key=str(key).strip() if key is not None else None,
        company_id=str(company).strip() if company is not None else None,
        base_url=str(base_url) if base_url is not None else None,
        webhook_spool=str(spool) if spool else None,
    )


def select_accounts(selection: str, available: Iterable[str] | None = None) -> list[Account]:
    """The accounts named by `--accounts`: `all`, or a comma-separated list of names.

    Raises:
        CliError: no account configured, or a name that is not configured.
    """
    known = list(available) if available is not None else configured_names()
    wanted = [part.strip().lower() for part in selection.split(",") if part.strip()]
    if wanted == ["all"]:
        wanted = known
    if not wanted:
        raise CliError(
            "No accounts configured. Add [accounts.<name>] tables with api_key (or company_id and an "
            "agency_key) to .dlt/secrets.toml, or set ACCOUNTS__<NAME>__API_KEY; see docs/accounts.md.",
            ExitCode.CONFIGURATION,
        )
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise CliError(
            f"Unknown account(s) {', '.join(unknown)}. Configured: {', '.join(known) or 'none'}.",
            ExitCode.CONFIGURATION,
        )
    return [resolve_account(name) for name in dict.fromkeys(wanted)]
