"""A restricted visibility hides other teams' investigations from every read path of the
store, on both engines: ORM reads (lists, point reads, links, timelines) and the event
queries filtered by investigation (hot compiled page, full-text page, counts, the
SQLite fast path)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from storage import EventQuery, InvestigationQuery, NewInvestigation, NotFoundError, Store
from storage import events as event_repo
from storage import investigations as inv_repo
from storage.fastread import FastReader
from storage.visibility import EVERYTHING, Visibility, current, seeing
from tests.storage.conftest import new_event

PAYMENTS = Visibility(frozenset({"payments"}))


def _store_with_two_teams(store: Store) -> tuple[int, int]:
    store.ingest([new_event(1, title="ledger lag", service="ledger"),
                  new_event(2, title="search errors", service="search")])
    mine = store.create_investigation(NewInvestigation(title="ledger", team="payments"))
    other = store.create_investigation(NewInvestigation(title="search", team="search"))
    store.link_events(mine.id, [1])
    store.link_events(other.id, [2])
    return mine.id, other.id


def test_investigation_reads_see_only_the_callers_teams(store: Store) -> None:
    mine, other = _store_with_two_teams(store)
    with seeing(PAYMENTS), store.read() as session:
        page = inv_repo.list_investigations(session=session, query=InvestigationQuery())
        assert [i.id for i in page.items] == [mine]
        assert inv_repo.get_investigation(session=session, investigation_id=mine).event_count == 1
        for read in (inv_repo.get_investigation, inv_repo.investigation_events):
            with pytest.raises(NotFoundError):
                read(session=session, investigation_id=other)
        assert inv_repo.investigations_for_event(session=session, event_id=2) == []
    with store.read() as session:          # the default sees everything again
        assert current() is EVERYTHING
        assert inv_repo.investigations_for_event(session=session, event_id=2) == [other]


def test_event_queries_by_investigation_see_only_visible_timelines(store: Store) -> None:
    mine, other = _store_with_two_teams(store)
    queries: dict[str, Callable[[Session, EventQuery], list[int] | list[str]]] = {
               "page": lambda s, q: [e.id for e in event_repo.list_events(session=s,
                                                                          query=q).items],
               "text": lambda s, q: [e.id for e in event_repo.list_events(
                   session=s, query=q.model_copy(update={"text": "body"})).items],
               "count": lambda s, q: sorted(event_repo.count_events(session=s, by="service",
                                                                    query=q))}
    expected = {"page": [2], "text": [2], "count": ["search"]}
    for name, run in queries.items():
        query = EventQuery(investigation_id=other)
        with store.read() as session:
            assert run(session, query) == expected[name], name
        with seeing(PAYMENTS), store.read() as session:
            assert run(session, query) in ([], {}), name
            assert run(session, EventQuery(investigation_id=mine)), name
        with seeing(Visibility(frozenset())), store.read() as session:
            assert run(session, EventQuery(investigation_id=mine)) in ([], {}), name


def test_the_sqlite_fast_path_follows_the_same_visibility(sqlite_store: Store) -> None:
    import orjson

    mine, other = _store_with_two_teams(sqlite_store)
    reader = FastReader(sqlite_store.engine)
    try:
        def ids(inv: int) -> list[int]:
            body = reader.page_json(EventQuery(investigation_id=inv), {})
            assert body is not None
            return [e["id"] for e in orjson.loads(body)["items"]]

        assert ids(other) == [2]
        with seeing(PAYMENTS):
            assert ids(other) == [] and ids(mine) == [1]
    finally:
        reader.close()
