"""Smoke tier of the git and log benchmarks: they run end to end and report figures.

No thresholds here (CI machines vary); the full tiers are run by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_git, bench_logs


def test_bench_logs_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = bench_logs.main(["20000", "--reps", "1", "--batch", "5000",
                               "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert '"role":"anchor"' in out and '"role":"project"' in out and "ratio" in out
    rates = summary["rates"]
    assert isinstance(rates, dict) and all(rate > 0 for rate in rates.values())


def test_bench_git_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rates = bench_git.main(["1000", "--reps", "1", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert '"unit":"commits/s"' in out and "ratio connector/git log" in out
    assert set(rates) == {"git log", "connector", "connector+store"}
