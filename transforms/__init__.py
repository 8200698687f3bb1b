"""Engagement models: SQL that runs inside the destination on the tables the Woodpecker source loads.

    from transforms import build_models
    report = build_models(pipeline)   # see docs/metrics.md
"""

from __future__ import annotations

from .runner import BuildError, BuildReport, build_models

__all__ = ["BuildError", "BuildReport", "build_models"]
