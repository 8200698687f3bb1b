"""Defaults of the Dagster integration."""

from typing import Final

GROUP_NAME: Final = "woodpecker"
# Daily, early morning UTC: Woodpecker's activity of the previous day is complete by then.
DAILY_CRON: Final = "17 5 * * *"
JOB_NAME: Final = "woodpecker_daily"
# The marts count as stale when their last build is older than this (a daily schedule plus slack).
MAX_STALENESS_HOURS: Final = 26
# Key prefix of the mart assets (the dlt assets are keyed by dagster-dlt: dlt_woodpecker_<resource>).
MARTS_KEY_PREFIX: Final = "woodpecker"
