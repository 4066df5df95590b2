"""Smoke tier of ``benchmarks/bench_retention.py``: a small store purged while the API
serves and a writer ingests; linked events checked; no thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bench_retention


def test_retention_benchmark_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORKBENCH_BENCH_CACHE", str(tmp_path))
    assert bench_retention.main(["--events", "3000", "--seconds", "1", "--reps", "1"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    figures = {r["variant"]: r["value"] for r in records if r.get("scenario") == "RET"}
    assert figures["linked events kept (of 100)"] == 100
    assert figures["unlinked events older than the cutoff left"] == 0
    assert any(k.startswith("purge of ") and v > 0 for k, v in figures.items())
    goals = {r["goal"]: r["ratio"] for r in records if "goal" in r}
    assert set(goals) == {"RET-pages", "RET-writes"} and all(v > 0 for v in goals.values())
