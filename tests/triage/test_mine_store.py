"""What mining stores (issue 16's faster write path), on both engines, against a
specification computed beside it: every log event is assigned once, with its own
service and time; patterns per service are exactly the reference miner's clusters over
that service's lines in id order (templates, sizes, routes); first and last seen are
the earliest and latest of their lines. Non-log events are skipped, services include
none, and batches end in the middle of everything."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text

from storage import EventKind, NewEvent, Severity, Source, Store
from tests.triage.drain_reference import ReferenceDrain
from tests.triage.loghub import sample
from workbench.patterns.mine import Miners, mine_all, mine_once

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def _events() -> list[NewEvent]:
    rng = random.Random(16)
    lines = [c for name in ("HDFS", "OpenSSH", "Apache") for c, _ in sample(name)[:250]]
    out = []
    for i, line in enumerate(lines):
        kind = EventKind.LOG if i % 9 else EventKind.DEPLOY
        out.append(NewEvent(
            source=Source.LOGS, kind=kind, severity=Severity.INFO, title=f"{line} {i}",
            # Times out of id order, so first/last seen are not simply the first/last line.
            occurred_at=T0 + timedelta(seconds=rng.randint(0, 5000), microseconds=i),
            service=rng.choice(["api", "db", None]), dedup_key=f"m{i}"))
    return out


def test_mining_stores_what_the_reference_miner_computes(store: Store) -> None:
    events = _events()
    store.ingest(events[:400])
    mine_once(store, Miners(), batch_size=97)
    store.ingest(events[400:])
    mine_all(store, Miners())  # a second process, rebuilt from the store
    assert mine_all(store).examined == 0
    with store.read() as session:
        rows = session.execute(text(
            "SELECT e.id, e.kind, e.service, e.title, e.occurred_at, p.pattern_id, "
            "p.service, p.occurred_at FROM event e LEFT JOIN event_pattern p "
            "ON p.event_id = e.id ORDER BY e.id")).all()
        stored = {i: (s, t, orjson.loads(r), n, f, la) for i, s, t, r, n, f, la in
                  session.execute(text("SELECT id, service, template, route, size, "
                                       "first_seen, last_seen FROM log_pattern"))}
    assert len(rows) == len(events)
    miners: dict[str | None, ReferenceDrain] = {}
    spans: dict[int, list[datetime]] = {}
    cluster_of: dict[tuple[str | None, int], int] = {}
    for event_id, kind, service, title, at, pattern_id, p_service, p_at in rows:
        if kind != "log":
            assert pattern_id is None
            continue
        assert (p_service, p_at) == (service, at), event_id
        cluster, _ = miners.setdefault(service, ReferenceDrain()).add(title)
        assert cluster_of.setdefault((service, cluster.id), pattern_id) == pattern_id
        spans.setdefault(pattern_id, []).append(at)
    want = {cluster_of[(service, c.id)]: (service, c.template, list(c.route), c.size,
                                          min(spans[cluster_of[(service, c.id)]]),
                                          max(spans[cluster_of[(service, c.id)]]))
            for service, miner in miners.items() for c in miner.clusters}
    assert stored == want


def test_a_batch_mined_while_another_miner_moved_the_cursor_is_not_written(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mining happens outside the write transaction; a miner running without the lease
    in the meantime makes this batch fail whole (its miners forgotten), not file lines
    twice."""
    import workbench.patterns.mine as mine

    store.ingest(_events()[:300])
    real = mine._file

    def racing(miners: Miners, logs: list[mine.Line]) -> object:
        monkeypatch.setattr(mine, "_file", real)
        mine_all(store, Miners())  # the other miner, between our read and our write
        return real(miners, logs)

    monkeypatch.setattr(mine, "_file", racing)
    ours = Miners()
    with pytest.raises(mine.MiningRaced):
        mine_once(store, ours)
    assert ours.by_service == {}
    with store.read() as session:
        assigned, distinct = session.execute(text(
            "SELECT count(*), count(DISTINCT event_id) FROM event_pattern")).one()
    assert assigned == distinct == sum(1 for i in range(300) if i % 9)
