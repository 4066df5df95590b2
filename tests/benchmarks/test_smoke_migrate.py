"""Smoke tier of ``benchmarks/bench_migrate.py``: a 0017 store of a few hundred events
upgraded to head on SQLite and PostgreSQL, rows compared; no timing thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bench_migrate
from storage.migrate import head_revision
from tests.conftest import PG_URL


def _figures(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {r["variant"]: r["value"] for r in records if r.get("scenario") == "MIG"}


def test_migrate_benchmark_runs_on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORKBENCH_BENCH_CACHE", str(tmp_path))
    assert bench_migrate.main(["--events", "1500", "--reps", "1"]) == 0
    figures = _figures(capsys)
    upgrade = f"sqlite: upgrade {bench_migrate.FROM} -> " + head_revision()
    assert figures[upgrade] > 0
    assert figures["sqlite: peak extra disk during the upgrade"] > 0
    assert figures["sqlite: tables whose rows differ after"] == 0


@pytest.mark.postgres
@pytest.mark.skipif(PG_URL is None, reason="WORKBENCH_TEST_PG_URL is not set")
def test_migrate_benchmark_runs_on_postgresql(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORKBENCH_BENCH_CACHE", str(tmp_path))
    assert bench_migrate.main(["--events", "1500", "--reps", "1", "--no-sqlite",
                               "--pg", str(PG_URL)]) == 0
    figures = _figures(capsys)
    assert figures["postgresql: tables whose rows differ after"] == 0
    assert not any(k.startswith("sqlite") for k in figures)
