"""Chaos run: random outages, poison records and duplicates, then the conservation law.

received (unique) = stored + pending in the DLQ + deliberately discarded, per
connector, and again after replaying what is left in the DLQ.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from connectors import dlq
from connectors.dlq import Parsers, ReplayStatus
from connectors.supervisor import Supervisor
from storage import Store
from storage.models import DeadLetterStatus
from tests.connectors.runtime_fakes import FakeConnector, config, records, wait_until


def source_records(prefix: str, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    data = records(prefix, 300)
    data = [b"!" + r if rng.random() < 0.07 else r for r in data]
    # At-least-once sources repeat themselves: 10% of records come twice.
    for _ in range(30):
        data.insert(rng.randrange(len(data)), rng.choice(data))
    return data


def stored_keys(store: Store, prefix: str) -> set[str]:
    with store.read() as session:
        rows = session.execute(text("SELECT dedup_key FROM event WHERE dedup_key LIKE :p"),
                               {"p": f"{prefix}-%"})
        return {r[0] for r in rows}


def letters(store: Store, name: str, status: DeadLetterStatus) -> list[bytes]:
    page = dlq.list_letters(store, connector=name, status=status, limit=10_000)
    return [letter.payload for letter in page.items]


def conserved(store: Store, name: str, data: list[bytes]) -> None:
    emitted = {r.lstrip(b"!").decode() for r in data}
    stored = stored_keys(store, name)
    pending = {p.lstrip(b"!").decode() for p in letters(store, name, DeadLetterStatus.PENDING)}
    discarded = {p.lstrip(b"!").decode()
                 for p in letters(store, name, DeadLetterStatus.DISCARDED)}
    assert stored | pending | discarded == emitted  # nothing lost, no phantoms
    assert len(emitted) == len(stored) + len(pending) + len(discarded)  # nothing twice


@pytest.mark.slow
async def test_chaos_conservation(store: Store) -> None:
    names = ["alpha", "beta", "gamma"]
    data = {name: source_records(name, seed) for seed, name in enumerate(names)}
    fakes = [FakeConnector(n, data[n], batch_size=7, transient_rate=0.35, seed=i)
             for i, n in enumerate(names)]
    sup = Supervisor(store, [(f, config(f.name)) for f in fakes], rng=random.Random(1))
    async with sup:
        await wait_until(lambda: all(sup.runners[n].cursor == str(len(data[n]))
                                     for n in names), limit=60)
    for name in names:
        health = sup.health.get(name)
        assert health.retries > 0  # the outages really happened
        assert health.received == len(data[name])
        assert health.received == health.stored + health.deduplicated + health.dead_lettered
        # Discard a few on purpose, then check the law.
        for payload_id in [letter.id for letter in dlq.iter_pending(store, connector=name)][:2]:
            dlq.discard(store, payload_id, by="chaos")
        conserved(store, name, data[name])

    for fake in fakes:
        fake.fixed = True
    outcomes = dlq.replay_all(store, Parsers.of(fakes))
    assert outcomes and all(o.status is ReplayStatus.REPLAYED for o in outcomes)
    for name in names:
        assert letters(store, name, DeadLetterStatus.PENDING) == []
        conserved(store, name, data[name])
