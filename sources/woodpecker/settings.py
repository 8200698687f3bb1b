"""Constants of the Woodpecker source: endpoints, defaults, field names and limits."""

from __future__ import annotations

from sources import woodpecker_tables as tables

DEFAULT_BASE_URL = "https://api.woodpecker.co"

# Endpoints (joined to the base URL, which carries scheme and host only).
PROSPECTS_PATH = "/rest/v1/prospects"
CAMPAIGN_LIST_PATH = "/rest/v1/campaign_list"
CAMPAIGN_V2_PATH = "/rest/v2/campaigns/{campaign_id}"

API_KEY_HEADER = "x-api-key"
# With an agency key, names the client company whose account is read.
COMPANY_ID_HEADER = "x-company-id"
SECRET_LOCATION_HINT = "SOURCES__WOODPECKER__API_KEY or [sources.woodpecker] api_key in .dlt/secrets.toml"

# Defaults of the source arguments (documented in docs/source.md).
DEFAULT_PER_PAGE = 1000
MAX_PER_PAGE = 1000
DEFAULT_LAG_SECONDS = 120
DEFAULT_ACTIVITY_LOOKBACK_HOURS = 72.0
DEFAULT_STATS_MAX_AGE_HOURS = 24.0
DEFAULT_RECONCILE_EVERY_DAYS = 7.0
DEFAULT_REQUEST_TIMEOUT_S = 60.0
# Longest wait for a connection to be established (the request timeout covers the answer).
CONNECT_TIMEOUT_S = 10.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF_FACTOR = 1.0
# Longest single wait between two attempts; the exponential series 1, 2, 4 … 64 s stays below it.
MAX_RETRY_DELAY_S = 120.0

# Chunked loads (`chunks.py`): a chunk makes at least this many requests, or up to this share of the
# requests the load made before it, before its rows and positions are committed.
DEFAULT_CHUNK_REQUESTS = 100
CHUNK_SHARE = 0.1

# Pages of a scan requested ahead of the one being processed (one request in flight, in order), while
# the count says they will be read: API latency overlaps conversion, and a chunked load's commits.
PREFETCH_PAGES = 8

# Rows per Arrow table handed to dlt: dlt's fixed cost per item (schema merge) is paid once per batch.
ARROW_BATCH_ROWS = 10_000

# Recent-activity streams first ask for a small page: one cheap request when little happened.
PROBE_PAGE_SIZE = 100
# How many times one scan re-reads from a disturbed page boundary before leaving the rest to the next run.
MAX_REPAIRS = 4
# Hard stop for a scan whose pages never end (a server ignoring `page`): pages beyond total/per_page.
EXTRA_PAGES_ALLOWED = 2
# Data timestamps further ahead of the API's clock (`Date`) than this are reported in the run summary.
CLOCK_NOTE_S = 3600
# Query budget for the comma-separated campaign ids; the encoded comma is 3 characters ("%2C").
CAMPAIGN_IDS_MAX_URL_CHARS = 1500

# Woodpecker's codes and types that change how an answer is handled.
THROTTLE_CODE = "E_TOO_MANY_REQUESTS"
AUTH_CODES = {401: "E_SESSION", 403: "E_NO_PERMISSION"}
UNSUPPORTED_CAMPAIGN_TYPE = "API_UNSUPPORTED_CAMPAIGN_FEATURES"

# Resource / table names, as the table declarations (sources/woodpecker_tables.py) give them.
CAMPAIGNS = tables.CAMPAIGNS.name
CAMPAIGN_STEPS = tables.CAMPAIGN_STEPS.name
CAMPAIGN_STEP_VERSIONS = tables.CAMPAIGN_STEP_VERSIONS.name
PROSPECTS = tables.PROSPECTS.name
CAMPAIGN_PROSPECTS = tables.CAMPAIGN_PROSPECTS.name
CAMPAIGN_STATS = tables.CAMPAIGN_STATS.name
PROSPECT_OPENS = tables.PROSPECT_OPENS.name
PROSPECT_CLICKS = tables.PROSPECT_CLICKS.name
WEBHOOK_EVENTS = tables.WEBHOOK_EVENTS.name

# Webhook subscriptions (reference section 8).
WEBHOOK_SUBSCRIBE_PATH = "/rest/v1/webhooks/subscribe"
WEBHOOK_UNSUBSCRIBE_PATH = "/rest/v1/webhooks/unsubscribe"
WEBHOOK_LIST_PATH = "/rest/v2/webhooks"
WEBHOOK_MAX_URLS_PER_EVENT = 3
# The eleven events of the old API document, then those of the developer portal and integrations.
WEBHOOK_EVENT_NAMES = (
    "prospect_replied",
    "link_clicked",
    "email_opened",
    "prospect_bounced",
    "prospect_invalid",
    "prospect_interested",
    "campaign_sent",
    "prospect_maybe_later",
    "prospect_not_interested",
    "prospect_autoreplied",
    "followup_after_autoreply",
    "secondary_replied",
    "prospect_saved",
    "campaign_paused_by_bounce_shield",
    "prospect_non_responsive",
    "prospect_blacklisted",
    "prospect_opt_out",
    "campaign_completed",
    "task_created",
    "task_done",
    "task_ignored",
)

# Tables whose rows disappear in Woodpecker without a trace and are reconciled by a full scan.
RECONCILED_TABLES = tables.reconciled_tables()

# Bookkeeping columns and prospect fields, from the table declarations.
FETCHED_AT = tables.FETCHED_AT
UNPARSED = tables.UNPARSED
REJECTED_RECORDS = tables.REJECTED_RECORDS
DELETED_AT = tables.DELETED_AT
LAST_REPLIED_API_KEY = tables.LAST_REPLIED_API_FIELD
# The prospect's free-text fields, read from `prospects` and accepted by the write endpoints.
PROSPECT_TEXT_FIELDS = tables.PROSPECT_TEXT_FIELDS
PROSPECT_SNIPPET_FIELDS = tables.PROSPECT_SNIPPET_FIELDS

# v2 campaign settings copied onto the campaign row.
V2_SETTINGS_FIELDS = ("timezone", "prospect_timezone", "daily_enroll", "list_unsubscribe")

WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
FOLLOWUP_RANGE_HOURS = {"DAY": 24, "HOUR": 1}

# Write endpoints (`woodpecker-etl push`), as the "Add prospects to database" and "Update prospects in a
# campaign" pages define them.
ADD_PROSPECTS_LIST_PATH = "/rest/v1/add_prospects_list"
ADD_PROSPECTS_CAMPAIGN_PATH = "/rest/v1/add_prospects_campaign"
MAX_PROSPECTS_PER_REQUEST = 20_000
# Row `status` values each endpoint accepts.
DATABASE_PROSPECT_STATUSES = ("ACTIVE", "BLACKLIST", "BOUNCED", "INVALID", "REPLIED")
CAMPAIGN_PROSPECT_STATUSES = ("ACTIVE", "PAUSED")
FORCED_CAMPAIGN_PROSPECT_STATUSES = ("BLACKLIST", "REPLIED", "INVALID", "BOUNCED")
# Row `interested` values (campaign endpoint only; underscores, unlike the v1 list filter).
INTEREST_VALUES = ("INTERESTED", "MAYBE_LATER", "NOT_INTERESTED", "NOT_MARKED")
DUPLICATE_CODE = "E_DUPLICATE"
DUPLICATE_IN_CAMPAIGN = "DUPLICATE"
