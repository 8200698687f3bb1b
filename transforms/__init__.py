"""Engagement models: SQL that runs inside the destination on the tables the Woodpecker source loads.

Build them with `build_models(pipeline)`; docs/metrics.md defines every table and metric.
"""

from __future__ import annotations

from .runner import BuildError, BuildReport, build_models

__all__ = ["BuildError", "BuildReport", "build_models"]
