"""The roll-up checked against the events themselves (used by the storage and kill tests)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from storage import Store, rollup
from storage.events import _raw_series
from storage.queries import EventQuery
from storage.tables import EventRollupRow


def rollup_table(store: Store) -> Counter[tuple[Any, ...]]:
    """What the roll-up holds: ``(width, dim, bucket start, label) -> n``."""
    with store.read() as session:
        rows = session.execute(select(EventRollupRow.width, EventRollupRow.dim,
                                      EventRollupRow.bucket, EventRollupRow.key,
                                      EventRollupRow.n)).all()
    found: Counter[tuple[Any, ...]] = Counter()
    for width, dim, bucket, key, n in rows:
        assert n > 0, f"an empty or negative bucket was left: {(width, dim, bucket, key, n)}"
        found[(width, dim, bucket * width, rollup.label(dim, key))] += n
    return found


def grouped_events(store: Store) -> Counter[tuple[Any, ...]]:
    """The same, computed by the raw GROUP BY over every event."""
    expected: Counter[tuple[Any, ...]] = Counter()
    with store.read() as session:
        for width in rollup.WIDTHS:
            for dim in rollup.DIMENSIONS:
                for at, label, n in _raw_series(session, dim, width, EventQuery()):
                    expected[(width, dim, int(at.timestamp()), label)] += n
    return expected


def assert_rollup_matches_events(store: Store) -> None:
    """The roll-up equals a GROUP BY over the events, bucket by bucket."""
    held, expected = rollup_table(store), grouped_events(store)
    assert held == expected, (f"{len(set(held) ^ set(expected))} buckets differ, e.g. "
                              f"{sorted(set(held.items()) ^ set(expected.items()))[:5]}")
