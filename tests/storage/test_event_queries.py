"""Event queries on both engines: every filter, combinations, keyset pages, cursors."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from storage import (
    Event,
    EventKind,
    EventQuery,
    InvalidCursorError,
    NewEvent,
    NotFoundError,
    Severity,
    Source,
    Store,
)
from storage.pagination import Cursor
from tests.storage.conftest import T0, new_event

SERVICES = ("api", "db", "web", None)
KINDS = {Source.GIT: EventKind.COMMIT, Source.CI: EventKind.DEPLOY, Source.LOGS: EventKind.LOG,
         Source.METRICS: EventKind.ANOMALY, Source.TRACES: EventKind.SPAN_ERROR,
         Source.MANUAL: EventKind.NOTE}


def _dataset() -> list[NewEvent]:
    rng = random.Random(7)
    events = []
    for n in range(150):
        source = rng.choice(list(Source))
        events.append(new_event(
            n,
            source=source,
            kind=KINDS[source],
            severity=rng.choice(list(Severity)),
            # Many ties on occurred_at: pages must still neither skip nor repeat.
            occurred_at=T0 + timedelta(minutes=rng.randrange(20)),
            service=rng.choice(SERVICES),
            environment=rng.choice(("prod", "staging")),
            host=rng.choice(("h1", "h2")),
            trace_id=rng.choice((None, "trace-a", "trace-b")),
            commit_sha=rng.choice((None, "abc123")),
            tags=tuple(rng.sample(("red", "blue", "green"), rng.randrange(3))),
        ))
    return events


@pytest.fixture
def loaded(store: Store) -> tuple[Store, list[Event]]:
    events = _dataset()
    # Several batches so ids and times are not in the same order.
    for start in range(0, len(events), 40):
        store.ingest(events[start:start + 40])
    stored = _all_pages(store, EventQuery(limit=500))
    assert len(stored) == len(events)
    return store, stored


def _pages(store: Store, query: EventQuery) -> Iterator[tuple[list[Event], str | None]]:
    page = store.list_events(query)
    yield page.items, page.prev_cursor
    while page.next_cursor:
        page = store.list_events(query.model_copy(update={"cursor": page.next_cursor}))
        yield page.items, page.prev_cursor


def _all_pages(store: Store, query: EventQuery) -> list[Event]:
    return [e for items, _ in _pages(store, query) for e in items]


def _ordered(events: list[Event], desc: bool = True) -> list[int]:
    return [e.id for e in sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=desc)]


Predicate = Callable[[Event], bool]
FILTERS: list[tuple[str, dict[str, object], Predicate]] = [
    ("source", {"sources": (Source.GIT, Source.CI)}, lambda e: e.source in ("git", "ci")),
    ("kind", {"kinds": (EventKind.LOG,)}, lambda e: e.kind == "log"),
    ("severity", {"severity": Severity.HIGH}, lambda e: e.severity == "high"),
    ("min_severity", {"min_severity": Severity.HIGH},
     lambda e: e.severity.rank >= Severity.HIGH.rank),
    ("service", {"services": ("api", "db")}, lambda e: e.service in ("api", "db")),
    ("environment", {"environment": "staging"}, lambda e: e.environment == "staging"),
    ("host", {"host": "h1"}, lambda e: e.host == "h1"),
    ("start", {"start": T0 + timedelta(minutes=5)},
     lambda e: e.occurred_at >= T0 + timedelta(minutes=5)),
    ("end", {"end": T0 + timedelta(minutes=5)},
     lambda e: e.occurred_at < T0 + timedelta(minutes=5)),
    ("tag", {"tag": "red"}, lambda e: "red" in e.tags),
    ("trace", {"trace_id": "trace-a"}, lambda e: e.trace_id == "trace-a"),
    ("commit", {"commit_sha": "abc123"}, lambda e: e.commit_sha == "abc123"),
    ("commit prefix", {"commit_sha": "abc1"}, lambda e: (e.commit_sha or "").startswith("abc1")),
]


@pytest.mark.parametrize(("name", "kwargs", "predicate"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter(loaded: tuple[Store, list[Event]], name: str, kwargs: dict[str, object],
                     predicate: Predicate) -> None:
    store, events = loaded
    expected = _ordered([e for e in events if predicate(e)])
    assert expected, f"dataset has no match for {name}"
    got = [e.id for e in _all_pages(store, EventQuery(limit=9, **kwargs))]
    assert got == expected


def test_filter_combinations(loaded: tuple[Store, list[Event]]) -> None:
    store, events = loaded
    rng = random.Random(3)
    for _ in range(25):
        chosen = rng.sample(FILTERS, rng.randrange(2, 5))
        kwargs: dict[str, object] = {}
        for _, k, _ in chosen:
            kwargs.update(k)
        expected = _ordered([e for e in events if all(p(e) for _, _, p in chosen)])
        got = [e.id for e in _all_pages(store, EventQuery(limit=4, **kwargs))]
        assert got == expected, [c[0] for c in chosen]


def test_ids_filter_and_time_window(loaded: tuple[Store, list[Event]]) -> None:
    store, events = loaded
    some = [e.id for e in events[::10]]
    got = _all_pages(store, EventQuery(ids=tuple(some), limit=500))
    assert sorted(e.id for e in got) == sorted(some)
    window = EventQuery(start=T0 + timedelta(minutes=3), end=T0 + timedelta(minutes=4))
    assert all(e.occurred_at == T0 + timedelta(minutes=3) for e in _all_pages(store, window))


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_keyset_pages_forward_then_back(loaded: tuple[Store, list[Event]], order: str) -> None:
    store, events = loaded
    query = EventQuery(limit=7, order=order)
    pages = list(_pages(store, query))
    flat = [e.id for items, _ in pages for e in items]
    assert flat == _ordered(events, desc=order == "desc")  # no gap, no overlap
    assert all(len(items) == 7 for items, _ in pages[:-1])
    assert pages[0][1] is None  # first page has nowhere to go back to
    # Walk back from the last page with prev_cursor: the same pages, in reverse.
    back_cursor = pages[-1][1]
    seen_back: list[list[int]] = []
    while back_cursor:
        page = store.list_events(query.model_copy(update={"cursor": back_cursor}))
        seen_back.append([e.id for e in page.items])
        back_cursor = page.prev_cursor
    assert seen_back == [[e.id for e in items] for items, _ in reversed(pages[:-1])]


def test_back_then_forward_again(loaded: tuple[Store, list[Event]]) -> None:
    store, _ = loaded
    query = EventQuery(limit=10)
    first = store.list_events(query)
    second = store.list_events(query.model_copy(update={"cursor": first.next_cursor}))
    back = store.list_events(query.model_copy(update={"cursor": second.prev_cursor}))
    assert back.items == first.items
    assert back.prev_cursor is None
    again = store.list_events(query.model_copy(update={"cursor": back.next_cursor}))
    assert again.items == second.items


def test_all_ties_on_occurred_at_page_by_id(store: Store) -> None:
    store.ingest([new_event(i, occurred_at=T0) for i in range(25)])
    ids = [e.id for e in _all_pages(store, EventQuery(limit=4, order="asc"))]
    assert ids == sorted(ids) and len(set(ids)) == 25


def test_text_search_pages_by_id(loaded: tuple[Store, list[Event]]) -> None:
    store, events = loaded
    got = [e.id for e in _all_pages(store, EventQuery(text="event", limit=11))]
    assert got == sorted((e.id for e in events), reverse=True)


def test_empty_result_is_an_empty_page(loaded: tuple[Store, list[Event]]) -> None:
    store, _ = loaded
    page = store.list_events(EventQuery(host="nowhere"))
    assert page.items == [] and page.next_cursor is None and page.prev_cursor is None


def _tampered() -> list[str]:
    good = Cursor(("2026-11-01T12:00:00+00:00", 5)).encode()
    return [
        "not base64 at all!!",
        good[:-3],
        Cursor(("2026-11-01T12:00:00+00:00",)).encode(),  # wrong arity
        Cursor(("yesterday", 5)).encode(),  # not a time
        Cursor(("2026-11-01T12:00:00", 5)).encode(),  # naive time
        Cursor(({"$gt": 1}, 5)).encode(),
        Cursor(("2026-11-01T12:00:00+00:00", [1])).encode(),
        "W1siMjAyNiJdLCJ5ZXMiXQ",  # backward flag is not a bool
        Cursor(("2026-11-01T12:00:00+00:00", "5")).encode(),  # id is not an integer
        Cursor(("2026-11-01T12:00:00+00:00", True)).encode(),
        "",
    ]


@pytest.mark.parametrize("cursor", _tampered())
def test_tampered_cursor_is_refused(store: Store, cursor: str) -> None:
    store.ingest([new_event(1)])
    if cursor == "":
        # An empty cursor means "first page".
        assert len(store.list_events(EventQuery(cursor=cursor)).items) == 1
        return
    with pytest.raises(InvalidCursorError):
        store.list_events(EventQuery(cursor=cursor))


def test_cursor_from_a_text_query_is_refused_for_a_time_query(store: Store) -> None:
    store.ingest([new_event(i) for i in range(5)])
    page = store.list_events(EventQuery(text="event", limit=2))
    assert page.next_cursor
    with pytest.raises(InvalidCursorError):
        store.list_events(EventQuery(cursor=page.next_cursor))


def test_get_event_and_get_events(loaded: tuple[Store, list[Event]]) -> None:
    store, events = loaded
    with pytest.raises(NotFoundError):
        store.get_event(10**9)
    from storage.events import get_events

    with store.read() as session:
        got = get_events(session=session, ids=[events[3].id, 10**9, events[0].id])
        assert get_events(session=session, ids=[]) == []
    assert [e.id for e in got] == _ordered([events[3], events[0]], desc=False)


def test_set_tags_replaces_and_is_queryable(store: Store) -> None:
    store.ingest([new_event(1, tags=("old",)), new_event(2)])
    first = store.list_events(EventQuery(order="asc")).items[0]
    updated = store.set_tags(first.id, ["a", "b", "a"])
    assert updated.tags == ("a", "b")
    assert store.list_events(EventQuery(tag="old")).items == []
    assert [e.id for e in store.list_events(EventQuery(tag="b")).items] == [first.id]
    assert store.set_tags(first.id, []).tags == ()
    assert store.list_events(EventQuery(tag="a")).items == []
    with pytest.raises(NotFoundError):
        store.set_tags(10**9, ["x"])
    # A NUL in a tag (the API fuzzer's find: a 500 on PostgreSQL) is stored as U+FFFD.
    assert store.set_tags(first.id, ["a\x00b"]).tags == ("a\ufffdb",)
    assert [e.id for e in store.list_events(EventQuery(tag="a\ufffdb")).items] == [first.id]


def test_compiled_shapes_never_reuse_values(loaded: tuple[Store, list[Event]]) -> None:
    """Pages are compiled once per filter shape; each call must bind its own values."""
    store, events = loaded
    for service in ("api", "db", "web", "api"):
        got = _all_pages(store, EventQuery(services=(service,), limit=500))
        assert {e.service for e in got} == {service}
        assert len(got) == sum(e.service == service for e in events)
    for n in (1, 2, 3, 2):
        wanted = tuple(e.id for e in events[n:n + n])
        got = store.list_events(EventQuery(ids=wanted, limit=500)).items
        assert sorted(e.id for e in got) == sorted(wanted)
    assert store.list_events(EventQuery(ids=())).items == []
    newer = store.list_events(EventQuery(start=T0 + timedelta(minutes=15), limit=500)).items
    older = store.list_events(EventQuery(start=T0 + timedelta(minutes=5), limit=500)).items
    assert len(older) > len(newer) > 0
