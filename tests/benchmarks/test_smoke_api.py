"""Smoke tier of ``benchmarks/bench_api.py``: the whole harness runs, no thresholds."""

from __future__ import annotations

from pathlib import Path

from benchmarks import bench_api


def test_api_benchmark_runs(tmp_path: Path) -> None:
    samples = bench_api.run(events=300, duration=1, reps=1, conns=4, db_dir=tmp_path,
                            pin=False)
    ratios = bench_api.report(samples)
    assert set(ratios) == {"event_by_id", "page_of_50"}
    for by_kind in samples.values():
        for runs in by_kind.values():
            assert runs and all(s.rps > 0 and s.requests > 0 for s in runs)


def test_ui_lateness_harness_runs(tmp_path: Path) -> None:
    import asyncio

    from benchmarks import bench_api_ui

    token = bench_api.build_db(tmp_path / "ui.db", 50)
    with bench_api_ui.in_thread(tmp_path / "ui.db", None) as port:
        assert port > 0 and token
        late = asyncio.run(bench_api_ui.tick_lateness(0.3))
    assert len(late) >= 10 and all(x >= 0 for x in late)
