"""Smoke tier of ``benchmarks/bench_triage.py``: it runs end to end and reports every
figure and goal (no thresholds: CI machines are noisy; the full tier is run by hand)."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_triage


@pytest.mark.slow
def test_triage_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_triage.main(["--events", "1000", "--logs", "3000", "--reps", "1"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    goals = {r["goal"]: r for r in records if "goal" in r}
    assert set(goals) == {"EXP-bundle", "PAT-mine", "PAT-new"}
    assert all(g["ratio"] > 0 for g in goals.values())
    figures = {(r["scenario"], r["role"]) for r in records if "scenario" in r}
    assert {("EXP", "anchor"), ("EXP", "project"), ("PAT", "anchor"),
            ("PAT", "project")} <= figures
