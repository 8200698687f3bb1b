"""Engagement models: SQL that runs inside the destination on the tables the Woodpecker source loads.

Build them with `build_models(pipeline)` and test them with `model_tests.run_model_tests(pipeline)`;
docs/metrics.md defines every table and metric. The same model files are a dbt package
(`dbt_project.yml` in this folder; their documentation and tests live in `models/*/_woodpecker__*.yml`).
"""

from __future__ import annotations

from .build import BuildError, BuildReport, build_models

__all__ = ["BuildError", "BuildReport", "build_models"]
