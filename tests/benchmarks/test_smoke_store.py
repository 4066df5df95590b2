"""Smoke tier of benchmarks/bench_store.py: it runs end to end and reports every figure.

No thresholds here (CI machines are noisy); the full tier is run by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bench_store

GOALS = {"ING-1", "ING-2", "Q-1 p50", "Q-1 p99"}


@pytest.mark.slow
def test_bench_store_smoke_tier(tmp_path: Path) -> None:
    out = tmp_path / "store.jsonl"
    status = bench_store.main(["--tier", "S", "--cache-dir", str(tmp_path), "--no-fail",
                               "--json-out", str(out)])
    assert status == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    machine = records[0]["machine"]
    assert machine["sqlite"]["version"] and machine["cores"]
    goals = {r["goal"]: r for r in records if "goal" in r}
    assert set(goals) >= GOALS
    assert any(g.startswith("Q-2 ") for g in goals) and any(g.startswith("Q-3 ") for g in goals)
    assert all(r["verdict"] in ("PASS", "WARN", "FAIL") and r["ratio"] > 0
               for r in goals.values())
    figures = [r for r in records if "scenario" in r]
    ingest = {r["variant"]: r for r in figures if r["scenario"] == "ING"}
    assert set(ingest) == {"raw", "raw+fts", "store"}
    assert all(len(r["reps"]) == 3 and r["value"] > 0 for r in ingest.values())
    # The cached query database is reused, not rebuilt, on a second run.
    built = list(tmp_path.glob("events-100000-*.db"))
    assert len(built) == 1
