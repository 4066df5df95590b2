"""Smoke tier of ``benchmarks/bench_pg_ingest.py`` and ``bench_pg_notify.py``: the
harnesses run against the test PostgreSQL server, no thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PG_URL

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(PG_URL is None, reason="WORKBENCH_TEST_PG_URL is not set")]


def _goals(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {r["goal"]: r["ratio"] for r in records if "goal" in r}


def test_pg_ingest_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import bench_pg_ingest

    assert bench_pg_ingest.main(["--db", str(PG_URL), "--batches", "3", "--batch", "50",
                                 "--reps", "1", "--no-fail"]) == 0
    goals = _goals(capsys)
    assert set(goals) == {"PG-1", "PG-1x"} and all(v > 0 for v in goals.values())


def test_pg_notify_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import bench_pg_notify

    assert bench_pg_notify.main(["--db", str(PG_URL), "--samples", "3", "--no-fail"]) == 0
    assert 0 < _goals(capsys)["PG-2"] < 30


def test_pg_query_benchmark_runs(tmp_path: Path) -> None:
    """``bench_store --only PG``: fills its own database, then Q-1, Q-2 and Q-3 on
    PostgreSQL against raw psycopg (every page's SQL, search included, taken)."""
    from benchmarks import bench_store
    from tests.conftest import _pg_database

    out = tmp_path / "pg.jsonl"
    databases = _pg_database()
    url = next(databases)
    try:
        assert bench_store.main(["--tier", "S", "--only", "PG", "--pg", url, "--pg-events",
                                 "3000", "--reps", "1", "--no-fail",
                                 "--json-out", str(out)]) == 0
    finally:
        databases.close()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    goals = {r["goal"]: r["ratio"] for r in records if "goal" in r}
    assert {"PG Q-1 p50", "PG Q-1 p99", "PG Q-3 search rare vs raw"} <= set(goals)
    assert all(ratio > 0 for ratio in goals.values())
