"""Smoke tier of ``benchmarks/bench_durability.py``: both modes measured, no thresholds."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_durability


def test_durability_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    bench_durability.main(["--posts", "5", "--events", "2000", "--reps", "1"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    variants = {r["variant"] for r in records if "scenario" in r}
    assert {"ingest 1k/txn, synchronous=NORMAL", "ingest 1k/txn, synchronous=FULL"} <= variants
    assert all(r["value"] > 0 for r in records if "scenario" in r)
