"""The notebooks in notebooks/ run end to end against a demo database and show what the account holds.

A small demo account is loaded once; each notebook is executed in a fresh kernel of this interpreter.
A probe cell appended to the executed copy reads the notebook's own results, which are compared with
the simulator's ground truth (`Simulator.truth()`), computed from its event log.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode
from traitlets import default

from pipelines.demo_run import run_demo
from pipelines.exit_codes import ExitCode
from simulator import Simulator, SimulatorConfig

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
SEED, PROSPECTS, CAMPAIGNS = 7, 2_000, 8  # small, but every campaign status and activity exists
CELL_TIMEOUT = 120
PROBE_MARK = "PROBE:"
# Evaluated in the kernel after every cell ran: another process opens the database for writing, as
# `woodpecker-etl load` does. It fails if the kernel still holds any connection (read-only included).
WRITER_PROBE = (
    "__import__('subprocess').run([_sys.executable, '-c', "
    "'import duckdb, sys; duckdb.connect(sys.argv[1]).close()', DB_PATH]).returncode"
)
# plot cells carry the cell tag "plot"; the counts keep a lost tag from passing unnoticed
PLOT_CELLS = {"engagement_overview.ipynb": 5, "prospect_explorer.ipynb": 3}
FIRST_CELL_LINES = (
    'DB_PATH = os.environ.get("WOODPECKER_ETL_DUCKDB", "../woodpecker_demo.duckdb")',
    'DATASET = os.environ.get("WOODPECKER_ETL_DATASET", "woodpecker")',
)


class NativeKernelManager(AsyncKernelManager):
    """Starts ipykernel's built-in "python3" kernel on this interpreter, ignoring kernelspec files.

    A user-level or system "python3" kernelspec could point at another Python; with no kernel
    directories to search, jupyter_client falls back to the kernel ipykernel ships, which runs
    `sys.executable`.
    """

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[])


def execute(name: str, env: dict[str, str], workdir: Path, probe: str | None = None) -> NotebookNode:
    """Run a notebook (plus an optional probe cell) in a fresh kernel; raise on the first failing cell."""
    notebook = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    if probe is not None:
        notebook.cells.append(nbformat.v4.new_code_cell(probe))
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        kernel_manager_class=NativeKernelManager,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=env)
    return notebook


def kernel_env(db_path: Path) -> dict[str, str]:
    """The test's environment, pointed at the demo database, headless, without figure saving."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOODPECKER_ETL_")}
    env.update({"WOODPECKER_ETL_DUCKDB": str(db_path), "MPLBACKEND": "Agg"})
    return env


def probe_code(expressions: dict[str, str]) -> str:
    """A cell printing the given notebook expressions as one JSON line."""
    items = ", ".join(f"{key!r}: {expr}" for key, expr in expressions.items())
    return (
        "import json as _json, sys as _sys\n"
        f"print({PROBE_MARK!r} + _json.dumps({{{items}, 'executable': _sys.executable}}, "
        "default=lambda value: value.item()))"
    )


def probe_result(notebook: NotebookNode) -> dict[str, Any]:
    text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.output_type == "stream")
    line = next(line for line in text.splitlines() if line.startswith(PROBE_MARK))
    result: dict[str, Any] = json.loads(line[len(PROBE_MARK) :])
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="module")
def demo_db(workdir: Path) -> Path:
    db = workdir / "demo.duckdb"
    code = run_demo(
        prospects=PROSPECTS,
        campaigns=CAMPAIGNS,
        seed=SEED,
        duckdb_path=str(db),
        pipelines_dir=str(workdir / "pipelines"),
    )
    assert code == ExitCode.OK
    return db


@pytest.fixture(scope="module")
def truth() -> Iterator[Any]:
    with Simulator(SimulatorConfig(seed=SEED, prospects=PROSPECTS, campaigns=CAMPAIGNS)) as sim:
        yield sim.truth()


@pytest.fixture(scope="module")
def overview(demo_db: Path, workdir: Path) -> NotebookNode:
    probe = probe_code(
        {
            "funnel": 'funnel["memberships"].to_dict()',
            "min_contacted": "MIN_CONTACTED",
            "ranked": 'ranked[["campaign_id", "reply_rate"]].values.tolist()',
            "best": 'best["campaign_id"].tolist()',
            "worst": 'worst["campaign_id"].tolist()',
            "weekly": 'weekly[["contacts", "replies", "bounces"]].sum().to_dict()',
            "by_position": 'by_position[["reached", "replied_after"]].to_dict("index")',
            "step_campaigns": 'sorted(steps["campaign_id"].unique().tolist())',
            "top_companies": 'top_companies[["email_domain", "prospects_replied"]].values.tolist()',
            "writer_exit_code": WRITER_PROBE,
        }
    )
    return execute("engagement_overview.ipynb", kernel_env(demo_db), workdir, probe)


@pytest.fixture(scope="module")
def explorer(demo_db: Path, workdir: Path) -> NotebookNode:
    probe = probe_code(
        {
            "stages": 'stages["prospects"].to_dict()',
            "opened_not_replied": 'sorted(opened_not_replied["prospect_id"].tolist())',
            "as_of": "AS_OF.isoformat()",
            "recent_days": "RECENT_DAYS",
            "recent_repliers": 'sorted(recent_repliers["prospect_id"].tolist())',
            "domain": "DOMAIN",
            "company_prospects": "len(company_prospects)",
            "pairs": 'sorted(map(list, campaign_prospects[["campaign_id", "email"]].itertuples(index=False)))',
            "writer_exit_code": WRITER_PROBE,
        }
    )
    return execute("prospect_explorer.ipynb", kernel_env(demo_db), workdir, probe)


def _replied_prospects(truth: Any) -> set[int]:
    members = truth.campaign_prospects
    replied = set(members.loc[members["status"] == "REPLIED", "prospect_id"])
    return replied | set(truth.prospects.loc[truth.prospects["status"] == "REPLIED", "id"])


def _emails(truth: Any) -> pd.Series:
    return truth.prospects.set_index("id")["email"].str.strip().str.lower()


# ------------------------------------------------------------------ both notebooks


@pytest.mark.parametrize("name", sorted(PLOT_CELLS))
def test_notebook_runs_and_draws_every_plot(
    name: str, overview: NotebookNode, explorer: NotebookNode
) -> None:
    notebook = {"engagement_overview.ipynb": overview, "prospect_explorer.ipynb": explorer}[name]
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells)
    outputs = [output for cell in code_cells for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    plot_cells = [cell for cell in code_cells if "plot" in cell.metadata.get("tags", [])]
    assert len(plot_cells) == PLOT_CELLS[name]
    for cell in plot_cells:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, cell.source
    assert probe_result(notebook)["executable"] == sys.executable


@pytest.mark.parametrize("name", sorted(PLOT_CELLS))
def test_notebook_holds_no_connection_that_would_block_a_load(
    name: str, overview: NotebookNode, explorer: NotebookNode
) -> None:
    notebook = {"engagement_overview.ipynb": overview, "prospect_explorer.ipynb": explorer}[name]
    assert probe_result(notebook)["writer_exit_code"] == 0
    source = "\n".join(cell.source for cell in notebook.cells[:-1] if cell.cell_type == "code")
    assert "read_only=True" in source and "with duckdb.connect(" in source
    assert "con = duckdb.connect" not in source


@pytest.mark.parametrize("name", sorted(PLOT_CELLS))
def test_notebook_without_database_says_to_run_make_demo(name: str, workdir: Path) -> None:
    with pytest.raises(CellExecutionError) as failure:
        execute(name, kernel_env(workdir / "missing.duckdb"), workdir)
    assert "FileNotFoundError" in str(failure.value)
    assert "make demo" in str(failure.value)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS_DIR.glob("*.ipynb")), ids=lambda path: path.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.outputs == [], cell.source
        assert cell.execution_count is None, cell.source
    first_lines = code_cells[0].source.splitlines()
    for line in FIRST_CELL_LINES:
        assert line in first_lines
    assert "read_only=True" in code_cells[0].source


def test_every_notebook_is_tested() -> None:
    assert sorted(path.name for path in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(PLOT_CELLS)


# ------------------------------------------------------------------ engagement_overview


def test_funnel_equals_the_truth(overview: NotebookNode, truth: Any) -> None:
    funnel = probe_result(overview)["funnel"]
    totals = truth.campaign_engagement.sum()
    expected = {
        "Enrolled": totals["enrolled"],
        "Contacted": totals["contacted"],
        "Opened": totals["unique_opened"],
        "Clicked": totals["unique_clicked"],
        "Replied": totals["replied"],
        "Interested": totals["interested"],
    }
    assert funnel == {stage: int(count) for stage, count in expected.items()}
    assert funnel["Replied"] > 0


def test_campaign_ranking_equals_the_truth(overview: NotebookNode, truth: Any) -> None:
    result = probe_result(overview)
    campaigns = truth.campaign_engagement
    reached = campaigns["contacted"] - campaigns["bounced"]
    eligible = campaigns[(campaigns["contacted"] >= result["min_contacted"]) & (reached > 0)].assign(
        rate=lambda frame: frame["replied"] / (frame["contacted"] - frame["bounced"])
    )
    expected = eligible.sort_values(["rate", "campaign_id"], ascending=[False, True])
    assert len(expected) >= 4  # enough campaigns for a best and a worst group
    assert [int(cid) for cid, _ in result["ranked"]] == expected["campaign_id"].tolist()
    assert [rate for _, rate in result["ranked"]] == pytest.approx(expected["rate"].tolist())
    shown = min(5, len(expected) // 2)
    assert result["best"] == expected["campaign_id"].head(shown).tolist()
    assert result["worst"] == expected["campaign_id"].tail(shown).tolist()


def test_weekly_activity_is_bounded_by_the_truth(overview: NotebookNode, truth: Any) -> None:
    weekly = probe_result(overview)["weekly"]
    totals = truth.campaign_engagement.sum()
    # "last activity per prospect": each membership counts at most once, some not at all
    assert 0 < weekly["replies"] <= totals["replied"]
    assert 0 < weekly["contacts"] <= totals["contacted"]
    assert 0 < weekly["bounces"] <= totals["bounced"]


def test_replies_per_sequence_email_equal_the_truth(overview: NotebookNode, truth: Any) -> None:
    result = probe_result(overview)
    steps = truth.step_engagement[truth.step_engagement["campaign_id"].isin(result["step_campaigns"])]
    expected = steps.groupby("step_number")[["sends", "replies"]].sum()
    expected = expected[expected["sends"] > 0]
    mine = {int(float(position)): row for position, row in result["by_position"].items() if row["reached"]}
    assert sorted(mine) == expected.index.tolist()
    for position, row in expected.iterrows():
        assert (mine[int(position)]["reached"], mine[int(position)]["replied_after"]) == (
            row["sends"],
            row["replies"],
        )


def test_top_companies_count_the_prospects_who_replied(overview: NotebookNode, truth: Any) -> None:
    top = probe_result(overview)["top_companies"]
    members = truth.campaign_prospects
    replied = members.loc[members["status"] == "REPLIED", "prospect_id"].unique()
    domains = _emails(truth).loc[replied].str.split("@").str[1]
    assert top and [count for _, count in top] == sorted((count for _, count in top), reverse=True)
    for domain, count in top:
        assert count == (domains == domain).sum(), domain


# ------------------------------------------------------------------ prospect_explorer


def test_lifecycle_stages_cover_every_prospect(explorer: NotebookNode, truth: Any) -> None:
    stages = probe_result(explorer)["stages"]
    assert sum(stages.values()) == len(truth.prospects)
    assert stages["replied"] + stages["interested"] > 0


def test_opened_but_never_replied_equals_the_truth(explorer: NotebookNode, truth: Any) -> None:
    result = probe_result(explorer)
    expected = set(truth.opens["prospect_id"]) - _replied_prospects(truth)
    assert expected and result["opened_not_replied"] == sorted(expected)


def test_recent_repliers_equal_the_truth(explorer: NotebookNode, truth: Any) -> None:
    result = probe_result(explorer)
    since = pd.Timestamp(result["as_of"]) - pd.Timedelta(days=result["recent_days"])
    prospects = truth.prospects
    recent = set(prospects.loc[prospects["last_replied"] >= since, "id"]) & _replied_prospects(truth)
    assert recent and result["recent_repliers"] == sorted(recent)


def test_company_filter_and_campaign_prospect_view_equal_the_truth(
    explorer: NotebookNode, truth: Any
) -> None:
    result = probe_result(explorer)
    emails = _emails(truth)
    assert result["company_prospects"] == (emails.str.split("@").str[1] == result["domain"]).sum() > 0
    members = truth.campaign_prospects
    expected = sorted(
        [int(cid), emails[pid]] for cid, pid in zip(members["campaign_id"], members["prospect_id"])
    )
    assert result["pairs"] == expected
