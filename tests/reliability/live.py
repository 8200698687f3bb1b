"""Live-account trials: the account is edited while a load pages through it.

From the simulator's request hook, every few requests make a seeded change — edit, add and enrol,
delete a prospect, remove a prospect from one campaign, reply, bounce, rename or delete a campaign —
and move the clock. The load during the changes must succeed; after the next `woodpecker-etl load
--reconcile` (a quiet account), every table must equal the truth exactly, deletes flagged.

With simulator switches (`live_trial(..., switches=...)`: a page-size cap, no `X-Total-Count`, a skewed
or missing `Date` header) the trial goes on with seeded changes between runs and one incremental load,
which must also leave every table equal to the truth.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.exit_codes import ExitCode
from simulator import Simulator

from .common import Size, Tally, check_against_truth, load_args, mutate, run_cli, start_simulator

PROSPECTS_PATH = "/rest/v1/prospects"
CHANGE_EVERY = 2  # requests between two changes


class LiveChanges:
    """A request hook that changes the account while it is being read."""

    def __init__(self, sim: Simulator, rng: random.Random) -> None:
        self.sim, self.rng = sim, rng
        self.active = True
        self.changes = 0
        self._seen = 0
        truth = sim.truth()
        self.prospects = [int(i) for i in truth.prospects.id]
        self.campaigns = [int(i) for i in truth.campaigns.id]
        self.members = [
            (int(p), int(c))
            for p, c in zip(
                truth.campaign_prospects.prospect_id, truth.campaign_prospects.campaign_id, strict=True
            )
        ]

    def __call__(self, record: Any) -> None:
        if not self.active:
            return
        self._seen += 1
        if self._seen % CHANGE_EVERY:
            return
        account, rng = self.sim.account, self.rng
        account.advance(rng.randint(1, 90))
        action = rng.random()
        pid = rng.choice(self.prospects)
        if action < 0.3:
            account.edit_prospect(pid, company=f"Live {rng.randrange(10**6)}")
        elif action < 0.45:
            new = account.add_prospects(rng.randint(1, 3))
            account.enroll(new[0], rng.choice(self.campaigns))
        elif action < 0.6:
            account.delete_prospect(pid)
        elif action < 0.7 and self.members:
            member_pid, cid = rng.choice(self.members)
            account.delete_prospect(member_pid, campaign_ids=[cid])
        elif action < 0.85 and self.members:
            member_pid, cid = rng.choice(self.members)
            if rng.random() < 0.5:
                account.record_reply(member_pid, cid)
            else:
                account.record_bounce(member_pid, cid)
        elif action < 0.97:
            cid = rng.choice(self.campaigns)
            account.edit_campaign(cid, name=f"Renamed {rng.randrange(10**6)}")
        elif len(self.campaigns) > 2:
            cid = self.campaigns.pop(rng.randrange(len(self.campaigns)))
            account.delete_campaign(cid)
        self.changes += 1


def live_trial(
    seed: int, size: Size, workdir: Path, switches: Mapping[str, Any] | None = None
) -> tuple[Tally, int]:
    """One seeded live-account trial; returns its tally and the number of changes made mid-run.

    Args:
        seed: Seed of the account, the changes and the choice of a reconciling run.
        size: Account size.
        workdir: Where the trial's DuckDB file and pipelines dir go.
        switches: Simulator settings of an API variation; with them the trial adds an incremental run
            after seeded changes between runs.
    """
    rng = random.Random(seed)
    tally = Tally(trials=1)
    label = f"live trial {seed}" + (f" {dict(switches)}" if switches else "")
    sim = start_simulator(seed, size, **(switches or {}))
    try:
        first = run_cli(load_args(sim, workdir, "--no-transform"))
        changes = LiveChanges(sim, rng)
        sim.on_request(changes)
        sim.account.advance(600)
        during = run_cli(
            load_args(sim, workdir, "--no-transform", *(["--reconcile"] if rng.random() < 0.5 else []))
        )
        changes.active = False
        if switches:
            # Activity that fell due while the hook moved the clock is applied now, before the
            # reconciling run, not back-dated by a later `simulate` (no real account does that).
            sim.account.simulate(600)
        else:
            sim.account.advance(600)
        after = run_cli(load_args(sim, workdir, "--reconcile"))
        for name, run in (("first", first), ("during changes", during), ("reconcile", after)):
            if run.code != ExitCode.OK:
                tally.failed_otherwise += 1
                tally.problems.append(f"{label}: {name} load failed: {run.last_error}")
                return tally, changes.changes
            tally.runs_completed += 1
        check_against_truth(sim, workdir, set(), tally, label)
        if switches:
            mutate(sim, rng, set())
            incremental = run_cli(load_args(sim, workdir, "--no-transform"))
            if incremental.code != ExitCode.OK:
                tally.failed_otherwise += 1
                tally.problems.append(f"{label}: incremental load failed: {incremental.last_error}")
                return tally, changes.changes
            tally.runs_completed += 1
            check_against_truth(sim, workdir, set(), tally, f"{label}, incremental")
    finally:
        sim.stop()
    return tally, changes.changes
