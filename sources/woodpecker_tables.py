"""The tables the Woodpecker source loads: one declaration per table, the only place a column is named.

Each `Table` gives its name, primary key and typed columns (one type vocabulary: dlt's data types), the
API field a column is read from when the names differ, the bookkeeping columns it carries, whether the
Arrow fast path loads it, and which columns the engagement models read, as which SQL type. Everything
else is derived from here:

- the dlt column hints and resource arguments (`sources/woodpecker/schema.py`),
- the Arrow specifications of the fast path (`sources/woodpecker/columnar.py: arrow_spec`),
- the table lists: reconciled tables, the CLI's summary order, the tests' expectations,
- the models' input contract (`transforms/layout.py: SOURCES`), the dbt package's sources
  (`transforms/models/staging/_woodpecker__sources.yml`) and the column list in docs/tables.md, both
  written by `python -m transforms.model_docs --write`.

The module imports neither dlt nor pyarrow, so that `transforms` can read it without them.

Example:
    >>> PROSPECTS.primary_key
    ('id',)
    >>> CAMPAIGN_STEPS.model_inputs()["wait_hours"]
    'double'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

# Column types as dlt names them (the load's types).
DataType = Literal["bigint", "double", "text", "bool", "timestamp", "json"]
# Types the models read a column as (the dbt sources' `data_type`, lower case; `transforms/layout.py`
# writes them in upper case for the built-in runner).
SqlType = Literal["bigint", "double", "text", "boolean", "timestamptz"]
SQL_TYPES: Final[dict[DataType, SqlType]] = {
    "bigint": "bigint",
    "double": "double",
    "text": "text",
    "bool": "boolean",
    "timestamp": "timestamptz",
}

# Bookkeeping columns.
FETCHED_AT: Final = "_fetched_at"
# JSON object {field: original value} of the values a row could not type; None when all were typed.
UNPARSED: Final = "_unparsed"
DELETED_AT: Final = "deleted_at"
# Table of the records that could not be loaded where they belong (no usable primary key), kept whole.
REJECTED_RECORDS: Final = "_rejected_records"


@dataclass(frozen=True)
class Column:
    """One column of a loaded table.

    Attributes:
        name: Column name.
        data_type: Its type in the destination (dlt's vocabulary).
        api_fields: The API field(s) it is read from when they differ from `name`; the first present wins.
        read: What the column means, when the engagement models read it (None: they do not).
        read_as: The type the models read it as, only where it differs from `data_type`'s.
        normalise: `interest`: one spelling of interest marks (`MAYBE-LATER` → `MAYBE_LATER`).
        nullable: Whether the column may be NULL.
        dedup_sort: dlt's `dedup_sort` hint (`desc`: the row with the highest value wins a merge).
        loaded: False for a column only the models' input has (read as a typed NULL).
    """

    name: str
    data_type: DataType
    api_fields: tuple[str, ...] = ()
    read: str | None = None
    read_as: SqlType | None = None
    normalise: Literal["interest"] | None = None
    nullable: bool = True
    dedup_sort: Literal["asc", "desc"] | None = None
    loaded: bool = True

    @property
    def fields(self) -> tuple[str, ...]:
        """API field names, defaulting to the column name."""
        return self.api_fields or (self.name,)

    @property
    def sql_type(self) -> SqlType:
        """The type the models read the column as."""
        if self.read_as is not None:
            return self.read_as
        if self.data_type not in SQL_TYPES:
            raise ValueError(f"{self.name}: the models cannot read a {self.data_type} column")
        return SQL_TYPES[self.data_type]


@dataclass(frozen=True)
class Table:
    """One table the source loads.

    Attributes:
        name: Table name.
        description: One row per what, and its key (the dbt sources' description).
        primary_key: The columns a merge matches on.
        columns: The columns filled from the API (or the spool), in table order; bookkeeping columns
            are added by `loaded_columns`.
        resource: The dlt resource that writes the table ("" = the table's own name).
        merge_key: dlt's `merge_key`: rows of a key re-read as a whole replace the old ones.
        fetched_at: Whether rows carry `_fetched_at` (when the connector received them).
        reconciled: Whether rows can disappear in Woodpecker without a trace: a full scan then sets
            `deleted_at` (see `sources/woodpecker/reconcile.py`).
        models_read_deleted_at: Whether the models read `deleted_at` (as NULL where it is not loaded).
        arrow: Whether pages are converted to typed Arrow tables (`columnar.py`), with `_unparsed`.
        keep_unknown: With `arrow`: whether API fields the table does not know are kept in `_unparsed`
            (False where records carry other tables' fields as well).
        ignored: API fields deliberately not loaded.
        optional: Whether the table exists only when a feature is on (read as empty when absent).
    """

    name: str
    description: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    resource: str = ""
    merge_key: str | None = None
    fetched_at: bool = True
    reconciled: bool = False
    models_read_deleted_at: bool = False
    arrow: bool = False
    keep_unknown: bool = True
    ignored: frozenset[str] = field(default_factory=frozenset)
    optional: bool = False

    def __post_init__(self) -> None:
        names = [c.name for c in self.loaded_columns()]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column is declared twice")
        missing = [k for k in self.primary_key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: primary key column(s) {missing} are not declared")

    @property
    def resource_name(self) -> str:
        """The dlt resource that writes the table."""
        return self.resource or self.name

    def loaded_columns(self) -> tuple[Column, ...]:
        """Every column the load writes, bookkeeping included, in table order."""
        columns = [c for c in self.columns if c.loaded]
        if self.arrow:
            columns.append(Column(UNPARSED, "json"))
        if self.fetched_at:
            columns.append(_FETCHED_AT_COLUMN)
        if self.reconciled:
            columns.append(_DELETED_AT_COLUMN)
        return tuple(columns)

    def column(self, name: str) -> Column:
        """The declared column `name` (bookkeeping, and columns only the models read, included)."""
        for column in (*self.columns, *self.loaded_columns(), *self.model_columns()):
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def model_columns(self) -> tuple[Column, ...]:
        """The columns the models read, in order: data columns, then `deleted_at`, then `_fetched_at`."""
        columns = [c for c in self.columns if c.read is not None]
        if self.reconciled:
            columns.append(_DELETED_AT_COLUMN)
        elif self.models_read_deleted_at:
            columns.append(_UNTRACKED_DELETED_AT)
        if self.fetched_at:
            columns.append(_FETCHED_AT_COLUMN)
        return tuple(columns)

    def model_inputs(self) -> dict[str, SqlType]:
        """Column → the type the models read it as."""
        return {c.name: c.sql_type for c in self.model_columns()}

    def renamed_fields(self) -> dict[str, str]:
        """API field → column name, for the columns read from a field of another name."""
        return {c.api_fields[0]: c.name for c in self.columns if c.api_fields and len(c.api_fields) == 1}


_FETCHED_AT_COLUMN = Column(
    FETCHED_AT,
    "timestamp",
    read="When the connector received the row.",
    nullable=False,
    dedup_sort="desc",
)
_DELETED_AT_COLUMN = Column(DELETED_AT, "timestamp", read="Set when the record disappeared from Woodpecker.")
_UNTRACKED_DELETED_AT = Column(
    DELETED_AT, "timestamp", read="Not tracked by the source (read as NULL).", loaded=False
)

# The prospect's free-text fields, read from `prospects` and accepted by the write endpoints
# (`woodpecker-etl push` validates them from here).
PROSPECT_TEXT_FIELDS: Final = (
    "first_name",
    "last_name",
    "company",
    "industry",
    "website",
    "linkedin_url",
    "tags",
    "title",
    "phone",
    "address",
    "city",
    "state",
    "country",
)
PROSPECT_SNIPPET_FIELDS: Final = tuple(f"snippet{n}" for n in range(1, 16))
# The old API serves `snipet1`–`snipet4` (sic) beside `snippet1`–`snippet4`, with the same values.
LEGACY_SNIPPET_FIELDS: Final = ("snipet1", "snipet2", "snipet3", "snipet4")
LAST_REPLIED_API_FIELD: Final = "last replied"

# What the models read of the prospect's text fields.
_PROSPECT_TEXT_READ: Final = {
    "first_name": "First name.",
    "last_name": "Last name.",
    "company": "Company name.",
    "industry": "Industry.",
    "website": "Website.",
    "tags": "Tags as served.",
    "title": "Job title.",
    "country": "Country.",
}

PROSPECTS: Final = Table(
    name="prospects",
    description="One row per prospect (`id`).",
    primary_key=("id",),
    columns=(
        Column("id", "bigint", read="Prospect id."),
        Column("organization_id", "bigint", read="Company id."),
        Column("email", "text", read="E-mail address as served."),
        *(Column(name, "text", read=_PROSPECT_TEXT_READ.get(name)) for name in PROSPECT_TEXT_FIELDS),
        Column("status", "text", read="Global status: ACTIVE, BOUNCED, REPLIED, BLACKLIST, INVALID."),
        *(Column(name, "text") for name in PROSPECT_SNIPPET_FIELDS),
        Column("last_contacted", "timestamp", read="Last email sent to the prospect."),
        Column(
            "last_replied",
            "timestamp",
            api_fields=(LAST_REPLIED_API_FIELD, "last_replied"),
            read="The API's `last replied`.",
        ),
        Column("updated", "timestamp", read="Last change of the record."),
        Column("encrypted", "bool"),
        Column("snippet_labels", "json"),
    ),
    reconciled=True,
    arrow=True,
    ignored=frozenset(LEGACY_SNIPPET_FIELDS),
)

CAMPAIGNS: Final = Table(
    name="campaigns",
    description="One row per campaign (`id`).",
    primary_key=("id",),
    columns=(
        # v1 campaign_list
        Column("id", "bigint", read="Campaign id."),
        Column("name", "text", read="Campaign name."),
        Column("status", "text", read="Campaign status."),
        Column("from_name", "text"),
        Column("from_email", "text", read="Sending address."),
        Column("created", "timestamp", read="When the campaign was created."),
        Column("from_names", "json"),
        Column("from_emails", "json"),
        Column("gdpr_unsubscribe", "bool"),
        Column("folder_name", "text", read="Folder name."),
        Column("folder_id", "bigint", read="Folder id."),
        Column("per_day", "bigint", read="Emails per day limit."),
        Column("bcc", "text"),
        Column("cc", "text"),
        Column("error", "text"),
        # v2 details
        Column("timezone", "text", read="Sending time zone (v2)."),
        Column("prospect_timezone", "bool"),
        Column("daily_enroll", "bigint", read="Prospects enrolled per day (v2)."),
        Column("list_unsubscribe", "bool"),
        Column("email_account_ids", "json"),
        Column(
            "details_status",
            "text",
            read="Whether the v2 details could be read: OK, UNSUPPORTED, NOT_FOUND.",
        ),
        Column("details_error", "text"),
    ),
    reconciled=True,
)

# Columns several tables share.
_CAMPAIGN_ID: Final = Column("campaign_id", "bigint", read="Campaign id.")
_PROSPECT_ID: Final = Column("prospect_id", "bigint", read="Prospect id.")
_STEP_ID: Final = Column("step_id", "text", read="The API's step UUID.")


def _campaign_structure(
    name: str, description: str, key: tuple[str, ...], columns: tuple[Column, ...]
) -> Table:
    """A table the `campaigns` resource writes from v2 details; a re-read campaign's rows replace the old."""
    return Table(
        name=name,
        description=description,
        primary_key=key,
        columns=columns,
        resource="campaigns",
        merge_key="campaign_id",
        models_read_deleted_at=True,
    )


CAMPAIGN_STEPS: Final = _campaign_structure(
    "campaign_steps",
    "One row per campaign step (`campaign_id`, `step_id`).",
    ("campaign_id", "step_id"),
    (
        _CAMPAIGN_ID,
        _STEP_ID,
        Column("step_number", "bigint", read="Position in the sequence (1 = first email)."),
        Column("type", "text", read="Step type (EMAIL, manual tasks, …)."),
        Column("followup_after_range", "text", read="DAY or HOUR."),
        Column(
            "followup_after_value",
            "bigint",
            read="Wait before the step, in followup_after_range units.",
        ),
        Column("wait_hours", "bigint", read="The wait in hours.", read_as="double"),
        Column("delivery_time", "json"),
        Column("sending_days", "text", read="Days the step sends on, e.g. MON,TUE."),
        Column("version_count", "bigint", read="A/B versions of the step."),
    ),
)

CAMPAIGN_STEP_VERSIONS: Final = _campaign_structure(
    "campaign_step_versions",
    "One row per A/B version of a step (`campaign_id`, `step_id`, `version_id`).",
    ("campaign_id", "step_id", "version_id"),
    (
        _CAMPAIGN_ID,
        _STEP_ID,
        Column("step_number", "bigint", read="Position of the step in the sequence."),
        Column("version_id", "text", read="The API's version id."),
        Column("version", "text", read="Version letter (A–E)."),
        Column("subject", "text", read="Subject line (empty for a reply in the thread)."),
        Column("message", "text"),
        Column("signature", "text", read="Signature setting."),
        Column("track_opens", "bool", read="Whether the version tracks opens."),
    ),
)

# Membership rows (`prospects?campaigns_id=`) also carry the prospect's own fields; those are loaded by
# `prospects`, not here.
CAMPAIGN_PROSPECTS: Final = Table(
    name="campaign_prospects",
    description="One row per campaign membership (`campaign_id`, `prospect_id`).",
    primary_key=("campaign_id", "prospect_id"),
    columns=(
        _CAMPAIGN_ID,
        Column("prospect_id", "bigint", api_fields=("id",), read="Prospect id."),
        Column("status", "text", read="Campaign-local status."),
        Column("sent_mails", "bigint", read="Emails sent to the prospect in the campaign."),
        Column(
            "interested",
            "text",
            read="Interest mark: INTERESTED, MAYBE_LATER, NOT_INTERESTED, NOT_MARKED.",
            normalise="interest",
        ),
        Column("campaign_email", "text", read="Sending mailbox."),
        Column("campaign_name", "text"),
    ),
    reconciled=True,
    arrow=True,
    keep_unknown=False,
)

# The counters of `campaign_list?id=<id>` → `stats`, in the order the API sends them.
STATS_COUNTERS: Final = (
    "prospects",
    "sent",
    "delivery",
    "opened",
    "clicked",
    "replied",
    "autoreplied",
    "bounced",
    "invalid",
    "optout",
    "interested",
    "not_interested",
    "maybe_later",
    "queue",
    "to_check",
)
# Counters whose API name is not a good column name.
_STATS_API_FIELDS: Final = {"to_check": "check"}

CAMPAIGN_STATS: Final = Table(
    name="campaign_stats",
    description="Woodpecker's own campaign statistics, one row per (`campaign_id`, `captured_at`).",
    primary_key=("campaign_id", "captured_at"),
    columns=(
        _CAMPAIGN_ID,
        Column("captured_at", "timestamp", read="When the snapshot was taken."),
        *(
            Column(
                name,
                "bigint",
                api_fields=(api,) if (api := _STATS_API_FIELDS.get(name)) else (),
                read=f"Vendor counter `{api or name}`.",
            )
            for name in STATS_COUNTERS
        ),
    ),
    # per-step `emails` are not loaded
    ignored=frozenset({"emails"}),
)

PROSPECT_OPENS: Final = Table(
    name="prospect_opens",
    description="One row per observed last-open time (`prospect_id`, `campaign_id`, `opened_at`).",
    primary_key=("prospect_id", "campaign_id", "opened_at"),
    columns=(
        _PROSPECT_ID,
        _CAMPAIGN_ID,
        Column("opened_at", "timestamp", read="Last open time seen by one load."),
    ),
    models_read_deleted_at=True,
)

PROSPECT_CLICKS: Final = Table(
    name="prospect_clicks",
    description=(
        "One row per observed last-click time per link (`prospect_id`, `campaign_id`, `url`, `clicked_at`)."
    ),
    primary_key=("prospect_id", "campaign_id", "url", "clicked_at"),
    columns=(
        _PROSPECT_ID,
        _CAMPAIGN_ID,
        Column("url", "text", read="The clicked link."),
        Column("clicked_at", "timestamp", read="Last click time of the link seen by one load."),
    ),
    models_read_deleted_at=True,
)

WEBHOOK_EVENTS: Final = Table(
    name="webhook_events",
    description=(
        "One row per distinct webhook event (`event_id`); exists only when webhooks are loaded, read as "
        "empty otherwise."
    ),
    primary_key=("event_id",),
    columns=(
        Column("event_id", "text", read="SHA-256 of the event's canonical JSON."),
        Column(
            "event",
            "text",
            read="The webhook's method: campaign_sent, email_opened, link_clicked, prospect_replied, …",
        ),
        Column("prospect_id", "bigint", read="The payload's prospect id."),
        Column(
            "campaign_id",
            "bigint",
            read="The payload's campaign id (NULL for events not tied to a campaign).",
        ),
        Column("step", "bigint", read="Position of the email in the sequence."),
        Column("occurred_at", "timestamp", read="When the event happened (UTC)."),
        Column("email", "text", read="The prospect's address."),
        Column("url", "text", read="Clicked link of link_clicked events."),
        Column("firm_id", "bigint"),
        Column("received_at", "timestamp", read="When the receiver accepted the event."),
        Column("payload", "json"),
    ),
    fetched_at=False,
    optional=True,
)

# Records that could not be loaded into their table (no usable primary key), kept whole, once per
# distinct record; `record` is the JSON text as the API sent it. Not one of `TABLES`: it exists only once
# something was rejected.
REJECTED_RECORDS_TABLE: Final = Table(
    name=REJECTED_RECORDS,
    description="Records that could not be loaded where they belong (`table_name`, `record_hash`).",
    primary_key=("table_name", "record_hash"),
    columns=(
        Column("table_name", "text"),
        Column("record_hash", "text"),
        Column("reason", "text"),
        Column("record", "text"),
    ),
)

# The tables the source loads, in the order the load summary lists them.
TABLES: Final = (
    CAMPAIGNS,
    CAMPAIGN_STEPS,
    CAMPAIGN_STEP_VERSIONS,
    PROSPECTS,
    CAMPAIGN_PROSPECTS,
    CAMPAIGN_STATS,
    PROSPECT_OPENS,
    PROSPECT_CLICKS,
    WEBHOOK_EVENTS,
)


def table_names(tables: tuple[Table, ...] = TABLES) -> tuple[str, ...]:
    """The tables' names, in declaration order."""
    return tuple(t.name for t in tables)


def reconciled_tables(tables: tuple[Table, ...] = TABLES) -> tuple[str, ...]:
    """Tables whose rows disappear in Woodpecker without a trace and are reconciled by a full scan."""
    return tuple(t.name for t in tables if t.reconciled)


def optional_tables(tables: tuple[Table, ...] = TABLES) -> tuple[str, ...]:
    """Tables that exist only when a feature is on (webhooks)."""
    return tuple(t.name for t in tables if t.optional)
