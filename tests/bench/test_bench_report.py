"""`make bench`'s report of ours against the peer: alternating rounds, medians and the ratio line."""

from __future__ import annotations

from typing import Any

from bench.run import Run, markdown, ratio, round_order, summarise


def run(client: str, wall: float, cpu: float, rows: int = 150_000) -> Run:
    return Run(client, wall, cpu, 500.0, 864, rows, True, 0)


def test_rounds_alternate_who_runs_first() -> None:
    assert [round_order(i) for i in range(3)] == [["ours", "peer"], ["peer", "ours"], ["ours", "peer"]]


def test_ratio_is_taken_from_the_medians() -> None:
    ours = summarise([run("ours", 60.0, 40.0), run("ours", 50.0, 45.0), run("ours", 300.0, 41.0)])
    peer = summarise([run("peer", 700.0, 600.0), run("peer", 500.0, 640.0), run("peer", 650.0, 620.0)])
    assert ours["wall_s"] == 60.0 and peer["wall_s"] == 650.0  # one slow run moves no median
    value = ratio(ours, peer)
    assert round(value["wall"], 2) == round(650 / 60, 2)
    assert round(value["rows_per_s"], 2) == round((150_000 / 60) / (150_000 / 650), 2)
    assert round(value["cpu"], 2) == round(620 / 41, 2)
    result: dict[str, Any] = {"median": {"ours": ours, "peer": peer}, "min_requests": None, "ratio": value}
    report = {"scenarios": {"scale_150k": result}}
    assert "| scale_150k | ours ahead of peer | 10.8× | 10.8× | 15.1× |" in markdown(report)
