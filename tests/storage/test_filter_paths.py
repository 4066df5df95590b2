"""Every path that filters events or investigations returns the same ids, on both engines.

The paths: the store's keyset pages (the compiled hot path; full-text through the
FTS index), the general SQLAlchemy path with the values bound in (counts, series,
the TUI's live tail), and the API's SQLite fast path (``storage.fastread``). Each
query is drawn by hypothesis from a strategy *per field of the query model*: a
field added to ``EventQuery`` or ``InvestigationQuery`` fails
``test_every_field_has_a_strategy`` until it is given one here, and then the
property tests check it on every path and engine, against a plain-Python reading
of what the field means (so a filter that every path ignored would fail too).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage import (
    Event,
    EventKind,
    EventQuery,
    Investigation,
    InvestigationQuery,
    InvestigationStatus,
    NewInvestigation,
    Severity,
    Source,
    Store,
)
from storage.event_sql import FILTERS, NOT_FILTERS
from storage.events import count_events, event_filters
from storage.fastread import FastReader
from storage.queries import INVESTIGATION_SORTS
from storage.tables import EventRow
from tests.storage.conftest import T0, new_event
from workbench.tui.data import Repo

KINDS = {Source.GIT: EventKind.COMMIT, Source.CI: EventKind.DEPLOY, Source.LOGS: EventKind.LOG,
         Source.METRICS: EventKind.ANOMALY, Source.TRACES: EventKind.SPAN_ERROR,
         Source.MANUAL: EventKind.NOTE}
SHAS = ("abc1234", "abc1299", "abd0000", "ABC1234", "0123abc", None)
WORDS = ("alpha", "beta", "gamma", "pool", "poolside")
SERVICES = ("api", "db", "web", None)
TAGS = ("red", "blue", "green")


def _events() -> list[Any]:
    events = []
    for n in range(90):
        source = list(Source)[n % 6]
        events.append(new_event(
            n, source=source, kind=KINDS[source], severity=list(Severity)[(n * 7) % 5],
            occurred_at=T0 + timedelta(minutes=(n * 13) % 40),  # ties on purpose
            service=SERVICES[n % 4], environment=("prod", "staging", None)[n % 3],
            host=("h1", "h2")[(n // 3) % 2], trace_id=(None, "trace-a", "trace-b")[n % 3],
            commit_sha=SHAS[(n // 2) % 6], tags=tuple(TAGS[: (n // 5) % 4]),
            title=f"{WORDS[n % 5]} {WORDS[(n // 5) % 5]} event", body=f"body {n}"))
    return events


def _open(url: str) -> Store:
    store = Store.open(url)
    store.ingest(_events()[:50])
    store.ingest(_events()[50:])  # two batches: ids follow insertion, not time
    for title, every in (("half", 2), ("few", 17)):
        inv = store.create_investigation(NewInvestigation(title=title))
        store.link_events(inv.id, list(range(1, 91, every)))
    _add_investigations(store)
    return store


def _stores(tmp: Any) -> Iterator[dict[str, Store]]:
    stores = {"sqlite": _open(str(tmp / "paths.db"))}
    url = os.environ.get("WORKBENCH_TEST_PG_URL")
    pg: Generator[str, None, None] | None = None
    if url:
        from tests.conftest import _pg_database

        pg = _pg_database()
        stores["postgresql"] = _open(next(pg))
    yield stores
    for store in stores.values():
        store.close()
    if pg is not None:
        pg.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    """The same events and links in SQLite and (when configured) PostgreSQL."""
    yield from _stores(tmp_path_factory.mktemp("paths"))


# -- events ----------------------------------------------------------------------
times = st.integers(-1, 41).map(lambda m: T0 + timedelta(minutes=m))
EVENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "ids": st.lists(st.integers(1, 95), max_size=6).map(tuple),
    "sources": st.lists(st.sampled_from(Source), max_size=3, unique=True).map(tuple),
    "kinds": st.lists(st.sampled_from(EventKind), max_size=3, unique=True).map(tuple),
    "severity": st.sampled_from(Severity),
    "min_severity": st.sampled_from(Severity),
    "services": st.lists(st.sampled_from(("api", "db", "web", "nope")), max_size=3,
                         unique=True).map(tuple),
    "environment": st.sampled_from(("prod", "staging", "nope")),
    "host": st.sampled_from(("h1", "h2", "h3")),
    "start": times,
    "end": times,
    "tag": st.sampled_from((*TAGS, "none")),
    "trace_id": st.sampled_from(("trace-a", "trace-b", "trace")),
    "commit_sha": st.sampled_from(("abc", "abc12", "abc1234", "ab", "ABC", "0123abc", "x",
                                   "")),
    "investigation_id": st.sampled_from((1, 2, 3)),
    "text": st.sampled_from(("alpha", "pool", "poo", "poo*", "alpha beta", '"beta event"',
                             "ALPHA", "missing")),
}
"""One strategy per filtering field of ``EventQuery``."""

LINKED = {1: set(range(1, 91, 2)), 2: set(range(1, 91, 17))}
EVENT_MEANING: dict[str, Callable[[Event, Any], bool]] = {
    "ids": lambda e, v: e.id in v,
    "sources": lambda e, v: not v or e.source in v,
    "kinds": lambda e, v: not v or e.kind in v,
    "severity": lambda e, v: e.severity == v,
    "min_severity": lambda e, v: e.severity.rank >= v.rank,
    "services": lambda e, v: not v or e.service in v,
    "environment": lambda e, v: e.environment == v,
    "host": lambda e, v: e.host == v,
    "start": lambda e, v: e.occurred_at >= v,
    "end": lambda e, v: e.occurred_at < v,
    "tag": lambda e, v: v in e.tags,
    "trace_id": lambda e, v: e.trace_id == v,
    "commit_sha": lambda e, v: e.commit_sha is not None and e.commit_sha.startswith(v),
    "investigation_id": lambda e, v: e.id in LINKED.get(v, set()),
    "text": lambda e, v: _text_matches(e, v),
}
"""What each field means, read in Python: the specification the SQL must meet."""


def _text_matches(event: Event, text: str) -> bool:
    """Full-text terms: whole words, any case; ``"a b"`` a phrase, ``w*`` a prefix."""
    words = f"{event.title} {event.body}".lower().split()
    if text.startswith('"'):
        return text.strip('"').lower() in " ".join(words)
    for term in text.lower().split():
        if not any(w.startswith(term[:-1]) if term.endswith("*") else w == term
                   for w in words):
            return False
    return True


def test_every_field_has_a_strategy() -> None:
    """A new ``EventQuery`` field fails here until every path (and this test) handles it."""
    filtering = set(EventQuery.model_fields) - {"order", "limit", "cursor"}
    assert set(EVENT_FIELDS) == filtering == set(EVENT_MEANING)
    assert set(FILTERS) | {"text"} == filtering
    assert set(NOT_FILTERS) == {"text", "order", "limit", "cursor"}


def _paged(store: Store, query: EventQuery) -> list[int]:
    ids, page = [], store.list_events(query)
    while True:
        ids += [e.id for e in page.items]
        if page.next_cursor is None:
            return ids
        page = store.list_events(query.model_copy(update={"cursor": page.next_cursor}))


def _fast(store: Store, query: EventQuery) -> list[int] | None:
    reader = FastReader(store.engine)
    try:
        ids: list[int] = []
        while True:
            body = reader.page_json(query, {})
            if body is None:
                return None
            page = orjson.loads(body)
            ids += [item["id"] for item in page["items"]]
            if page["next_cursor"] is None:
                return ids
            query = query.model_copy(update={"cursor": page["next_cursor"]})
    finally:
        reader.close()


def _general(store: Store, query: EventQuery) -> set[int]:
    with store.read() as session:
        return set(session.scalars(select(EventRow.id).where(*event_filters(session, query))))


def _counted(store: Store, query: EventQuery) -> int:
    with store.read() as session:
        return sum(count_events(session=session, by="source", query=query).values())


def _all(store: Store) -> list[Event]:
    return store.list_events(EventQuery(limit=500)).items


@settings(max_examples=int(os.environ.get("WORKBENCH_PATH_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({}, optional=EVENT_FIELDS),
       order=st.sampled_from(("asc", "desc")), limit=st.integers(1, 7))
def test_every_event_path_agrees(stores: dict[str, Store], values: dict[str, Any],
                                 order: str, limit: int) -> None:
    query = EventQuery(order=order, limit=limit, **values)
    events = _all(stores["sqlite"])
    expected = {e.id for e in events if all(EVENT_MEANING[k](e, v) for k, v in values.items())}
    in_order = [e.id for e in sorted(events, key=lambda e: (e.occurred_at, e.id),
                                     reverse=order == "desc") if e.id in expected]
    if query.text:  # full-text pages are in stored (id) order
        in_order = sorted(expected, reverse=order == "desc")
    for engine, store in stores.items():
        where = f"{engine} {values}"
        assert _paged(store, query) == in_order, where
        assert _general(store, query) == expected, where
        assert _counted(store, query) == len(expected), where
        tail = Repo(store).events_after(query, 0, 1000)
        assert {e.id for e in tail} == expected, where
        if engine == "sqlite":
            fast = _fast(store, query)
            assert fast == (None if query.text else in_order), where


# -- investigations -----------------------------------------------------------------
INVESTIGATION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "statuses": st.lists(st.sampled_from(InvestigationStatus), max_size=2,
                         unique=True).map(tuple),
    "sources": st.lists(st.sampled_from(Source), max_size=2, unique=True).map(tuple),
    "severity": st.sampled_from(Severity),
    "min_severity": st.sampled_from(Severity),
    "service": st.sampled_from(("api", "db", "pay", "nope")),
    "owner": st.sampled_from(("alex", "sam", "nobody")),
    "text": st.sampled_from(("pool", "POOL", "timeout", "50%", "a_b", "nothing")),
    "created_after": times,
    "created_before": times,
    "updated_after": times,
    "updated_before": times,
}
NOT_INVESTIGATION_FILTERS = {"sort", "descending", "limit", "cursor"}


INVESTIGATION_MEANING: dict[str, Callable[[Investigation, Any], bool]] = {
    "statuses": lambda i, v: not v or i.status in v,
    "sources": lambda i, v: not v or bool(LINKED_SOURCES.get(i.id, set()) & set(v)),
    "severity": lambda i, v: i.severity == v,
    "min_severity": lambda i, v: i.severity.rank >= v.rank,
    "service": lambda i, v: v in i.services,
    "owner": lambda i, v: i.owner == v,
    "text": lambda i, v: any(v.lower() in (x or "").lower()
                             for x in (i.title, i.summary, i.root_cause)),
    "created_after": lambda i, v: i.created_at >= v,
    "created_before": lambda i, v: i.created_at < v,
    "updated_after": lambda i, v: i.updated_at >= v,
    "updated_before": lambda i, v: i.updated_at < v,
}


LINKED_SOURCES: dict[int, set[Source]] = {
    inv: {list(Source)[(n - 1) % 6] for n in ids} for inv, ids in LINKED.items()}
"""Sources of each investigation's linked events (event ``n`` comes from source n % 6)."""


def _add_investigations(store: Store) -> None:
    """Ten investigations with known times (ids 3-12; 1 and 2 hold the links)."""
    from storage.investigations import create_investigation, set_status

    titles = ("Pool exhausted", "timeout on db", "50% errors", "a_b rollout", "quiet one")
    for n, title in enumerate(titles * 2):
        at = T0 + timedelta(minutes=n * 4)
        with store.write() as session:
            inv = create_investigation(session=session, now=at, new=NewInvestigation(
                title=title, severity=list(Severity)[n % 5],
                services=(("api",), ("db", "pay"), ())[n % 3],
                owner=("alex", "sam", None)[n % 3], summary="" if n % 2 else "pool summary"))
            if n % 3 == 1:
                set_status(session=session, investigation_id=inv.id,
                           status=InvestigationStatus.INVESTIGATING, now=at + timedelta(minutes=7))


def test_every_investigation_field_has_a_strategy() -> None:
    filtering = set(InvestigationQuery.model_fields) - NOT_INVESTIGATION_FILTERS
    assert set(INVESTIGATION_FIELDS) == filtering == set(INVESTIGATION_MEANING)


def _investigation_pages(store: Store, query: InvestigationQuery) -> list[int]:
    ids, page = [], store.list_investigations(query)
    while True:
        ids += [i.id for i in page.items]
        if page.next_cursor is None:
            return ids
        page = store.list_investigations(query.model_copy(update={"cursor": page.next_cursor}))


def _sort_key(inv: Investigation, sort: str) -> Any:
    return inv.severity.rank if sort == "severity" else getattr(inv, sort)


@settings(max_examples=int(os.environ.get("WORKBENCH_PATH_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({}, optional=INVESTIGATION_FIELDS),
       sort=st.sampled_from(INVESTIGATION_SORTS), descending=st.booleans(),
       limit=st.integers(1, 4))
def test_every_investigation_path_agrees(stores: dict[str, Store], values: dict[str, Any],
                                         sort: str, descending: bool, limit: int) -> None:
    query = InvestigationQuery(sort=sort, descending=descending, limit=limit,
                               **values)
    for engine, store in stores.items():
        every = store.list_investigations(InvestigationQuery(limit=500)).items
        matching = [i for i in every
                    if all(INVESTIGATION_MEANING[k](i, v) for k, v in values.items())]
        matching.sort(key=lambda i: (_sort_key(i, sort), i.id), reverse=descending)
        assert _investigation_pages(store, query) == [i.id for i in matching], \
            f"{engine} {values}"
