"""Roll-ups on both engines: equal to a GROUP BY over the events after ingest (with
duplicates and story rewrites), purge, erase and the migration's backfill; and the
series and counts read from them equal the raw path's on random windows."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import NewInvestigation, Store, migrate, rollup
from storage.engine import make_engine
from storage.events import _raw_counts, _raw_series, count_events, count_series
from storage.models import Severity, Source, utcnow
from storage.queries import EventQuery
from storage.retention import erase, purge
from tests.storage.conftest import T0, new_event
from tests.storage.rollup_check import assert_rollup_matches_events
from tests.storage.test_migrations import _write_0001_store
from tests.storage.test_planner_stats import _plan, traced  # noqa: F401  (a fixture)

SPAN = timedelta(days=3)


def _random_events(rng: random.Random, count: int, first: int = 0) -> list[Any]:
    return [new_event(
        n, occurred_at=T0 + SPAN * rng.random(),
        severity=rng.choice(list(Severity)), source=rng.choice([Source.LOGS, Source.TRACES,
                                                               Source.CI]),
        service=rng.choice(["api", "db", "web", None]), title=f"event {n}",
        body=rng.choice(["ok", "user alice@example.org failed"]))
        for n in range(first, first + count)]


@pytest.fixture
def filled(store: Store) -> Store:
    rng = random.Random(5)
    events = _random_events(rng, 1500)
    store.ingest(events[:900])
    store.ingest(events[600:])  # 300 duplicates: nothing counted twice
    return store


def test_rollup_equals_group_by_after_ingest_and_a_story_rewrite(filled: Store) -> None:
    assert_rollup_matches_events(filled)
    first = new_event(5000, occurred_at=T0, severity=Severity.LOW, attributes={"revision": 1})
    moved = new_event(5000, occurred_at=T0 + timedelta(hours=7), severity=Severity.HIGH,
                      service="db", attributes={"revision": 2})
    filled.ingest([first])
    assert filled.ingest([moved]).stored == 1  # replaced in place: moved an hour bucket
    assert_rollup_matches_events(filled)


def _window(rng: random.Random) -> EventQuery:
    start = T0 - timedelta(hours=1) + (SPAN + timedelta(hours=2)) * rng.random()
    length = timedelta(seconds=rng.choice([30, 90, 3599, 3600, 7300, 86_400, 200_000]))
    return EventQuery(start=start, end=start + length * rng.uniform(0.5, 1.5))


def test_series_and_counts_from_the_rollup_equal_the_raw_path(filled: Store) -> None:
    rng = random.Random(9)
    with filled.read() as session:
        for _ in range(60):
            query, by = _window(rng), rng.choice(rollup.DIMENSIONS)
            assert rollup.serves(query, by)
            bucket = rng.choice([60, 300, 3600, 7200, 86_400, 45])
            assert count_series(session=session, by=by, bucket_seconds=bucket, query=query) \
                == _raw_series(session, by, bucket, query), (query, by, bucket)
            raw = {k: n for k, n in _raw_counts(session, by, query).items() if n}
            assert count_events(session=session, by=by, query=query) == raw, (query, by)


def test_other_filters_and_kinds_use_the_raw_path() -> None:
    window = {"start": T0, "end": T0 + SPAN}
    assert not rollup.serves(EventQuery(**window, services=("api",)), "source")
    assert not rollup.serves(EventQuery(**window), "kind")
    assert not rollup.serves(EventQuery(start=T0), "source")


def test_rollup_follows_purge_and_erase(filled: Store) -> None:
    late = [new_event(9000 + n, occurred_at=utcnow() - timedelta(minutes=n)) for n in range(5)]
    filled.ingest(late)
    inv = filled.create_investigation(NewInvestigation(title="evidence"))
    kept = filled.list_events(EventQuery(order="asc", limit=3)).items
    filled.link_events(inv.id, [e.id for e in kept])
    report = purge(filled, {"logs": utcnow() - timedelta(days=1)}, batch=100, pause=0)
    assert report.deleted["logs"] > 0
    assert_rollup_matches_events(filled)
    assert erase(filled, "alice@example.org").events_deleted
    assert_rollup_matches_events(filled)


def test_the_migration_backfills_existing_events(store_url: str) -> None:
    _write_0001_store(store_url)
    engine = make_engine(store_url)
    migrate.upgrade(engine, "0011")
    engine.dispose()
    store = Store.open(store_url)  # to head: 0012 counts the three old events
    try:
        assert_rollup_matches_events(store)
        with store.read() as session:
            day = EventQuery(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
            assert count_events(session=session, by="service", query=day) == {"api": 3}
    finally:
        store.close()


def test_a_purge_prunes_emptied_buckets_by_their_key(tmp_path: Path,
                                                     traced: list[str]) -> None:  # noqa: F811
    """Subtracting (a purge batch, an erase, a story rewrite) deletes the roll-up rows it
    brought to 0 by their primary key. A delete of every ``n = 0`` row walked the whole
    roll-up (``tenant_id = ?`` alone) once per purge batch: 52 ms of each batch's write
    lock at 1M events (``benchmarks/bench_retention.py``)."""
    path = tmp_path / "prune.db"
    store = Store.open(path)
    try:
        store.ingest(_random_events(random.Random(3), 300))
        traced.clear()
        report = purge(store, {"logs": utcnow()}, batch=50, pause=0)
        assert report.deleted["logs"] > 0
        assert_rollup_matches_events(store)
    finally:
        store.close()
    prunes = [s for s in traced if s.lstrip().upper().startswith("DELETE FROM EVENT_ROLLUP")]
    assert prunes, "the purge emptied buckets: something must delete them"
    for statement in prunes:
        plan = _plan(path, statement)
        assert "SCAN" not in plan and all(
            re.search(rf'\b"?{column}"?=\?', plan) for column in
            ("tenant_id", "width", "dim", "bucket", "key")), plan
