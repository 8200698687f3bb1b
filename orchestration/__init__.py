"""Dagster integration: one asset per Woodpecker resource (dagster-dlt) plus the engagement marts.

Install with `pip install 'woodpecker-etl[dagster]'`, then point Dagster at the ready definitions
(`dagster dev -m orchestration.definitions`) or build your own with `woodpecker_definitions()`.
"""

from .assets import woodpecker_definitions

__all__ = ["woodpecker_definitions"]
