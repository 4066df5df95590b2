"""Smoke tier of ``benchmarks/bench_grouping.py`` and of the team harness: runs, no thresholds."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_grouping


def test_grouping_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    status = bench_grouping.main(["--linked", "2000", "--investigations", "5",
                                  "--backlog", "3000", "--old-batches", "1", "--audit-rounds", "1",
                                  "--no-fail"])
    assert status == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    figures = {(r["scenario"], r["role"]) for r in records if "scenario" in r}
    assert {("GR-1", "project"), ("GR-2", "anchor"), ("GR-4", "project"),
            ("GR-4", "anchor")} <= figures
    goals = {r["goal"]: r for r in records if "goal" in r}
    assert set(goals) == {"GR-1", "GR-2", "GR-4"} and all(g["ratio"] > 0 for g in goals.values())
    audited = next(r for r in records if r.get("scenario") == "GR-4" and r["role"] == "project")
    assert not audited["variant"].startswith("audited grouper, 0 ")  # links made, rows written


def test_upstream_access_log_detects_two_pollers_at_once() -> None:
    """The team test's one-poller check can fail: overlapping connections are counted."""
    from benchmarks.team_cluster import Upstream

    upstream = Upstream()
    try:
        upstream.access.extend([(1.0, 5001), (2.0, 5001), (3.0, 5002), (4.0, 5002)])
        assert upstream.overlaps() == 0
        upstream.access.extend([(3.5, 5001)])  # 5001 still polling while 5002 polls
        assert upstream.overlaps() == 1
    finally:
        upstream.shutdown()
