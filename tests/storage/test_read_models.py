"""Events read back are what the validated constructor gives, on every read path.

Rows become models without validation (``storage.trusted.builder``, the same
mechanism as ``trusted_event``); these tests hold that to ``Event(**fields)`` on random
events, on both engines, and hold ``Store.list_events``' driver path (SQLite: one
statement on the thread's kept connection, no session) to the session path.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from storage import Event, EventKind, EventQuery, NewEvent, Page, Severity, Source, Store
from storage.events import _text_page, events_after, get_events, list_events
from storage.models import MAX_SHORT
from tests.storage.conftest import new_event

_text = st.text(alphabet=st.sampled_from(["a", "é", "\x00", " ", "\n", "😀", "'", "%"]),
                max_size=8)
_some_text = st.one_of(_text, st.sampled_from(["x" * MAX_SHORT]))
_leaf = st.one_of(st.none(), st.booleans(), _text, st.integers(-(2**63), 2**63 - 1),
                  st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)), max_leaves=8)


@st.composite
def _new_events(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        fields: dict[str, Any] = {
            "source": draw(st.sampled_from(list(Source))),
            "kind": draw(st.sampled_from(list(EventKind))),
            "occurred_at": draw(st.datetimes(min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - naive bounds
                                             max_value=datetime(9999, 12, 30),  # noqa: DTZ001
                                             timezones=st.sampled_from([UTC]))),
            "title": draw(_some_text.filter(bool)),
        }
        optional = {
            "severity": st.sampled_from(list(Severity)), "body": _some_text,
            "service": st.one_of(st.none(), _some_text), "host": st.one_of(st.none(), _text),
            "environment": st.one_of(st.none(), _text), "trace_id": st.one_of(st.none(), _text),
            "span_id": st.one_of(st.none(), _text), "commit_sha": st.one_of(st.none(), _text),
            "url": st.one_of(st.none(), _text),
            "tags": st.lists(_text, max_size=3, unique=True).map(tuple),
            "attributes": st.dictionaries(_text, _json, max_size=4),
        }
        for name, strategy in optional.items():
            if draw(st.booleans()):
                fields[name] = draw(strategy)
        out.append(fields)
    return out


_serial = itertools.count()


def _expected(new: NewEvent, stored: Event) -> Event:
    """The validated model of what was stored (id and arrival time from the store)."""
    return Event(**{**new.model_dump(), "dedup_key": new.effective_dedup_key(),
                    "id": stored.id, "received_at": stored.received_at})


def _same(read: Event, expected: Event) -> None:
    assert read == expected
    assert read.model_fields_set == expected.model_fields_set
    # Fields serialise in the same order; attribute keys are stored sorted (canonical).
    assert list(read.model_dump()) == list(expected.model_dump())
    assert orjson.loads(read.model_dump_json()) == orjson.loads(expected.model_dump_json())
    for name in Event.model_fields:
        got, want = getattr(read, name), getattr(expected, name)
        assert type(got) is type(want), name
        if isinstance(got, datetime):
            assert got.tzinfo is UTC, name


def _read_paths(store: Store, ids: list[int]) -> dict[str, list[Event]]:
    """Every way the store reads events back, by id order."""
    limit = len(ids) + 1
    query = EventQuery(ids=tuple(ids), limit=limit, order="asc")
    with store.read() as session:
        by_session = list_events(session=session, query=query).items
        many = get_events(session=session, ids=ids)
        after = events_after(session=session, after_id=min(ids) - 1, limit=limit)
    paths = {
        "Store.list_events": store.list_events(query).items,
        "list_events(session)": by_session,
        "get_events": many,
        "events_after": [e for e in after if e.id in ids],
        "get_event": [store.get_event(i) for i in ids],
    }
    return {name: sorted(found, key=lambda e: e.id) for name, found in paths.items()}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=_new_events())
def test_read_models_equal_validated_ones(store: Store, batch: list[dict[str, Any]]) -> None:
    """Same fields, same types (enums, UTC datetimes, tuples), same fields-set, same JSON."""
    news = [NewEvent(**{**fields, "dedup_key": f"p{next(_serial)}"}) for fields in batch]
    store.ingest(news)
    keys = {n.effective_dedup_key(): n for n in news}
    stored = {e.dedup_key: e for e in store.list_events(
        EventQuery(limit=500, order="desc")).items if e.dedup_key in keys}
    assert set(stored) == set(keys)
    ids = sorted(e.id for e in stored.values())
    for path, events in _read_paths(store, ids).items():
        assert [e.id for e in events] == ids, path
        for event in events:
            _same(event, _expected(keys[event.dedup_key], event))


def _walk(read: Any, query: EventQuery) -> list[Page[Event]]:
    """Every page forwards from ``query``, then every page back from the last."""
    pages = [read(query)]
    while pages[-1].next_cursor:
        pages.append(read(query.model_copy(update={"cursor": pages[-1].next_cursor})))
    back = pages[-1]
    while back.prev_cursor:
        back = read(query.model_copy(update={"cursor": back.prev_cursor}))
        pages.append(back)
    return pages


def test_store_pages_equal_session_pages(store: Store, t0: datetime) -> None:
    """``Store.list_events`` (the driver path on SQLite) gives the session path's pages,
    cursors included, in both orders, with filters and with full-text search."""
    store.ingest([new_event(n, service=("api", "db")[n % 2], severity=list(Severity)[n % 5],
                            title=f"disk {'full' if n % 3 else 'ok'} {n}",
                            tags=("t",) if n % 4 == 0 else ())
                  for n in range(57)])

    def by_session(query: EventQuery) -> Page[Event]:
        with store.read() as session:
            return list_events(session=session, query=query)

    queries = [
        EventQuery(limit=7), EventQuery(limit=7, order="asc"),
        EventQuery(limit=5, services=("db",), min_severity=Severity.LOW),
        EventQuery(limit=4, start=t0 + timedelta(minutes=10), end=t0 + timedelta(minutes=40),
                   tag="t"),
        EventQuery(limit=6, text="full"), EventQuery(limit=6, text="disk", order="asc"),
        EventQuery(limit=3, text='"disk ok"'), EventQuery(ids=(), limit=3),
    ]
    for query in queries:
        assert _walk(store.list_events, query) == _walk(by_session, query), query


def test_driver_pages_see_each_commit_and_nest(sqlite_store: Store) -> None:
    """The driver path holds no snapshot between pages, and works inside a read."""
    sqlite_store.ingest([new_event(1)])
    assert len(sqlite_store.list_events(EventQuery()).items) == 1
    sqlite_store.ingest([new_event(2)])
    assert len(sqlite_store.list_events(EventQuery()).items) == 2
    with sqlite_store.read() as session:
        session.execute(text("SELECT count(*) FROM event")).scalar_one()
        assert len(sqlite_store.list_events(EventQuery()).items) == 2  # nested: pooled path
    driver = sqlite_store._kept.driver()
    assert driver is not None and not driver.in_transaction
    sqlite_store._kept.give_back_driver()


def test_one_statement_pages_leave_pooled_connections_as_they_were(store: Store) -> None:
    """PostgreSQL: the page's pooled connection is back in transaction mode; a failing
    page (a foreign cursor) leaves it so too, and the next unit of work commits."""
    store.ingest([new_event(1)])
    for _ in range(3):
        assert len(store.list_events(EventQuery()).items) == 1
    try:
        store.list_events(EventQuery(cursor="bm90IGEgY3Vyc29y"))
    except ValueError:
        pass
    else:
        raise AssertionError("a foreign cursor must be refused")
    pooled = store.engine.raw_connection()
    try:
        assert not getattr(pooled.driver_connection, "autocommit", False)
    finally:
        pooled.close()
    store.ingest([new_event(2)])
    assert len(store.list_events(EventQuery()).items) == 2


def test_full_text_pages_equal_the_general_path(store: Store) -> None:
    """Search pages from the statement compiled once per shape (SQLite FTS5 or
    PostgreSQL tsvector, on the driver) equal the general path's (values bound in,
    through SQLAlchemy), walked forwards and back with cursors."""
    words = ("disk", "full", "net-work", "o'neil", "back\\slash")
    store.ingest([new_event(n, title=f"{words[n % 5]} {words[(n // 5) % 5]} event {n}",
                            body="disk usage high" if n % 3 == 0 else "all quiet",
                            service=("api", "db")[n % 2]) for n in range(60)])

    def general(query: EventQuery) -> Page[Event]:
        with store.read() as session:
            return _text_page(session, query)

    texts = ["disk", "disk full", '"disk usage"', "ful*", "o'neil", "net-work", "back\\slash",
             "d* event", "nothing-matches", '"" *', "disk \x00 full"]
    for text_ in texts:
        for query in (EventQuery(text=text_, limit=4), EventQuery(text=text_, limit=5, order="asc"),
                      EventQuery(text=text_, limit=3, services=("db",))):
            got = _walk(store.list_events, query)
            assert got == _walk(general, query), query
    assert len(store.list_events(EventQuery(text="disk", limit=500)).items) > 10
