"""Running the dbt package (transforms/dbt_project.yml) from tests, with the dbt that `make` installs.

dbt lives in its own environment (`.venv-dbt`, see the Makefile): its pins conflict with the dev tools.
`WOODPECKER_DBT` names another dbt executable. Profiles, logs and compiled SQL go to a temporary folder,
never into the repository; dbt is told not to send usage events or look for a newer version.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "transforms"
DBT = Path(os.environ.get("WOODPECKER_DBT", REPO / ".venv-dbt" / "bin" / "dbt"))
DBT_TIMEOUT_S = 300


@dataclass(frozen=True)
class DbtRun:
    """One finished dbt command."""

    returncode: int
    output: str


def dbt_executable() -> Path:
    """The dbt executable; a missing one is an error that says how to install it."""
    if not DBT.exists():
        raise AssertionError(f"{DBT} not found: run `make dbt-venv` (make test does) or set WOODPECKER_DBT")
    return DBT


def write_profile(folder: Path, outputs: dict[str, dict[str, Any]]) -> Path:
    """A profiles.yml with the `woodpecker` profile and the given targets (the first is the default)."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = {"woodpecker": {"target": next(iter(outputs)), "outputs": outputs}}
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    return folder


def user_project(folder: Path) -> Path:
    """A dbt project of a user that has installed the package (what `dbt deps` leaves behind).

    `dbt deps` would link a local package into `dbt_packages/`; the link is made here directly.
    """
    folder.mkdir(parents=True, exist_ok=True)
    project = {"name": "analytics", "version": "1.0.0", "config-version": 2, "profile": "woodpecker"}
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(project), encoding="utf-8")
    (folder / "dbt_packages").mkdir(exist_ok=True)
    (folder / "dbt_packages" / "woodpecker").symlink_to(PROJECT_DIR, target_is_directory=True)
    return folder


def run_dbt(
    work: Path, *args: str, target: str, raw_schema: str = "woodpecker", project_dir: Path = PROJECT_DIR
) -> DbtRun:
    """Run `dbt <args>` against `target` of the profile in `work`.

    Args:
        work: Folder holding profiles.yml; dbt's target/ and logs/ go below it.
        args: The dbt command and its options, e.g. `build`, `--select`, `+campaign_performance`.
        target: Profile target.
        raw_schema: Schema of the raw tables (the package's `woodpecker_schema` variable).
        project_dir: The dbt project: the package itself, or a `user_project` that installed it.
    """
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "DBT_PROFILES_DIR": str(work),
    }
    command = [
        str(dbt_executable()),
        "--no-version-check",
        *args,
        "--project-dir", str(project_dir),
        "--target", target,
        "--target-path", str(work / f"target-{target}"),
        "--log-path", str(work / "logs"),
        "--vars", yaml.safe_dump({"woodpecker_schema": raw_schema}, default_flow_style=True).strip(),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=DBT_TIMEOUT_S, check=False, cwd=work
    )
    return DbtRun(done.returncode, done.stdout + done.stderr)
