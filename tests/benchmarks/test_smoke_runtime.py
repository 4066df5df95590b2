"""Smoke tier of ``benchmarks/bench_runtime.py``: the whole harness runs, no thresholds."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_runtime


@pytest.mark.slow
def test_runtime_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    status = bench_runtime.main(["--events", "2000", "--batch", "200", "--reps", "3",
                                 "--calls", "2000", "--no-fail"])
    assert status == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    figures = {(r["scenario"], r["role"]) for r in records if "scenario" in r}
    assert figures == {("RT-1", "anchor"), ("RT-1", "project"), ("RT-2", "anchor"),
                       ("RT-2", "project")}
    goal = next(r for r in records if r.get("goal") == "RT-1")
    assert goal["ratio"] > 0 and goal["verdict"] in ("PASS", "WARN", "FAIL")
