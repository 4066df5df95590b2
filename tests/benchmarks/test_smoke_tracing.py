"""Smoke tier of ``benchmarks/bench_tracing.py``: the harness runs and spans arrive."""

from __future__ import annotations

from pathlib import Path

from benchmarks import bench_tracing


def test_tracing_benchmark_runs_and_exports(tmp_path: Path) -> None:
    samples, received = bench_tracing.run(events=300, duration=1, reps=1, conns=4,
                                          db_dir=tmp_path, pin=False)
    ratios = bench_tracing.report(samples)
    assert set(ratios["event_by_id"]) == set(bench_tracing.VARIANTS)
    assert all(s.rps > 0 for by in samples.values() for runs in by.values() for s in runs)
    # Only the traced servers export: 100% of their requests plus about 10% of the other's.
    traced_requests = sum(s.requests for by in samples.values() for s in by["traced 100%"])
    assert received >= traced_requests
