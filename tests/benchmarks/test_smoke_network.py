"""Smoke tier of the network benchmarks: they run end to end and report figures.

No thresholds here (CI machines vary); the full tiers are run by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_metrics_cycle, bench_otlp, bench_zscore


def test_bench_zscore_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    summary = bench_zscore.main(["500", "360", "--reps", "1"])
    out = capsys.readouterr().out
    assert '"role":"anchor"' in out and '"role":"project"' in out and "ratio" in out
    ratio = summary["ratio"]
    assert isinstance(ratio, float) and ratio > 0


def test_bench_metrics_cycle_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    summary = bench_metrics_cycle.main(["500", "360", "--reps", "1"])
    assert "ratio project/anchor" in capsys.readouterr().out
    events = summary["events"]
    assert isinstance(events, int) and events > 0


def test_bench_otlp_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = bench_otlp.main(["10000", "--reps", "1", "--http", "--dir", str(tmp_path)])
    assert "project over HTTP" in capsys.readouterr().out
    events = summary["events"]
    assert isinstance(events, int) and events > 0
