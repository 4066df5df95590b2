"""Smoke tier of ``benchmarks/bench_leases.py``: the harness runs, no thresholds."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_leases


def test_lease_overhead_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_leases.main(["--batches", "5", "--batch", "20", "--reps", "3",
                              "--no-fail"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["scenario"], r["role"]) for r in records if "scenario" in r} == \
        {("LS-1", "anchor"), ("LS-1", "project")}
    goal = next(r for r in records if r.get("goal") == "LS-1")
    assert goal["ratio"] > 0
