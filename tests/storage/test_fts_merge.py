"""Merging the SQLite full-text index's segments (``storage.search.merge_fts``): bounded
steps that leave one segment, and every search answers exactly as before."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from storage import EventQuery, Store
from storage.search import fts_segments, merge_fts, merge_fts_round
from tests.storage.conftest import new_event

QUERIES = ["event", "w17", "w1*", '"body of event"', "event 7*", "zanzibar", "w3 w5"]


def _segments(store: Store) -> int | None:
    with store.read() as session:
        return fts_segments(session.connection())


def _pages(store: Store, query: EventQuery) -> Iterator[tuple[list[int], str | None,
                                                             str | None]]:
    """Every page of ``query``: ids, next and previous cursor."""
    while True:
        page = store.list_events(query)
        yield [e.id for e in page.items], page.next_cursor, page.prev_cursor
        if not page.next_cursor:
            return
        query = query.model_copy(update={"cursor": page.next_cursor})


def _answers(store: Store) -> dict[tuple[str, str], list[tuple[list[int], str | None,
                                                                str | None]]]:
    return {(text, order): list(_pages(store, EventQuery(text=text, limit=7, order=order)))
            for text in QUERIES for order in ("desc", "asc")}


@pytest.fixture
def fragmented(sqlite_store: Store) -> Store:
    """600 events of 30 words in 60 batches (each batch adds a segment to the index,
    FTS5's automerge folds some of them), an index of a few dozen pages."""
    rng = random.Random(7)
    for batch in range(60):
        sqlite_store.ingest([
            new_event(n, body=f"body of event {n} " + " ".join(
                f"w{rng.randrange(3000)}" for _ in range(30)) + (" zanzibar" if n % 10 == 2
                                                                  else ""))
            for n in range(batch * 10, batch * 10 + 10)])
    return sqlite_store


def test_merge_steps_leave_one_segment_and_the_same_answers(fragmented: Store) -> None:
    before = _answers(fragmented)
    assert sum(len(ids) for ids, _, _ in before[("event", "desc")]) == 600
    segments = _segments(fragmented)
    assert segments is not None and segments > 4
    steps = 0
    while merge_fts(fragmented, pages=1, whole=steps == 0):
        steps += 1
        assert steps < 1000
    assert steps > 1  # one page of work per step: bounded, so it took several
    assert _segments(fragmented) == 1
    assert _answers(fragmented) == before
    assert not merge_fts(fragmented, pages=64, whole=True)  # nothing left to merge


def test_a_round_stops_when_told_and_the_next_one_finishes(fragmented: Store) -> None:
    before = _answers(fragmented)
    calls: list[int] = []

    def go() -> bool:
        calls.append(1)
        return len(calls) <= 2

    assert merge_fts_round(fragmented, pages=1, pause=0, go=go) == 2
    assert (_segments(fragmented) or 0) > 1  # stopped half way
    assert merge_fts_round(fragmented, pages=1, pause=0) > 0
    assert _segments(fragmented) == 1
    assert merge_fts_round(fragmented, pages=1, pause=0) == 0
    assert _answers(fragmented) == before


def test_a_step_with_nothing_eligible_does_no_work(fragmented: Store) -> None:
    """A plain step merges only a level with enough segments (FTS5's ``usermerge``, 4)
    or one already begun: below that it reports no work, and the index is unchanged."""
    while merge_fts(fragmented, pages=1000, whole=False):
        pass
    segments = _segments(fragmented)
    assert not merge_fts(fragmented, pages=1000, whole=False)
    assert _segments(fragmented) == segments


def test_new_events_after_a_merge_are_found(fragmented: Store) -> None:
    while merge_fts(fragmented, pages=64, whole=True):
        pass
    fragmented.ingest([new_event(1000, title="after the merge", body="zanzibar again")])
    found = fragmented.list_events(EventQuery(text="zanzibar", limit=100)).items
    assert [e.title for e in found][0] == "after the merge"
    assert len(found) == 61


def test_postgresql_has_nothing_to_merge(store: Store) -> None:
    if store.dialect == "sqlite":
        pytest.skip("PostgreSQL only")
    store.ingest([new_event(1), new_event(2)])
    store.ingest([new_event(3)])
    assert not merge_fts(store, pages=64, whole=True)
    assert _segments(store) is None
