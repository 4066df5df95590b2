"""A story step that replaces a stored event in place (``storage.stories``) replaces its
tags in the tag table too: every read path's tag filter finds the event by its new
tags and no longer by its old ones, on both engines.

The paths: the store's page (its one-statement fast path and the session path), the
general SQLAlchemy filter, counts, the TUI's live tail and the API's SQLite fast
reader. ``tests/api/test_events.py`` checks ``/api/events?tag=`` over HTTP.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from storage import EventQuery, Store
from storage.events import count_events, event_filters, list_events
from storage.fastread import FastReader
from storage.tables import EventRow, EventTagRow
from tests.storage.conftest import new_event
from workbench.tui.data import Repo


def tag_paths(store: Store, tag: str) -> dict[str, set[int]]:
    """The ids each read path returns for ``tag``."""
    query = EventQuery(tag=tag, limit=100)
    found = {"page": {e.id for e in store.list_events(query).items}}
    with store.read() as session:
        found["session page"] = {e.id for e in list_events(session=session, query=query).items}
        found["filter"] = set(session.scalars(
            select(EventRow.id).where(*event_filters(session, query))))
        counted = sum(count_events(session=session, by="source", query=query).values())
    found["count"] = set(range(counted))  # compared by size below
    found["tail"] = {e.id for e in Repo(store).events_after(query, 0, 100)}
    if store.engine.dialect.name == "sqlite":
        reader = FastReader(store.engine)
        try:
            body = reader.page_json(query, {})
        finally:
            reader.close()
        assert body is not None
        found["fast reader"] = {item["id"] for item in orjson.loads(body)["items"]}
    return found


def assert_tag_finds(store: Store, tag: str, expected: set[int]) -> None:
    """Every path finds exactly ``expected`` for ``tag``."""
    for path, ids in tag_paths(store, tag).items():
        if path == "count":
            assert len(ids) == len(expected), (tag, path)
        else:
            assert ids == expected, (tag, path)


def stored_tags(store: Store, event_id: int) -> list[str]:
    with store.read() as session:
        return sorted(session.scalars(
            select(EventTagRow.tag).where(EventTagRow.event_id == event_id)))


@pytest.mark.parametrize(("first", "then"), [
    ({"revision": 1}, {"revision": 2}),
    ({"provisional": True, "concludes": "k0"}, {"concludes": "k0"}),
], ids=["revision", "provisional"])
def test_a_replacement_moves_the_event_to_its_new_tags(
        store: Store, first: dict[str, Any], then: dict[str, Any]) -> None:
    store.ingest([new_event(0, tags=("kept",))])
    store.ingest([new_event(1, attributes=first, tags=("old", "kept"))])
    replaced = new_event(1, attributes=then, tags=("new", "kept", "new"))
    assert store.ingest([replaced]).stored == 1
    assert set(store.get_event(2).tags) == {"new", "kept"}
    assert stored_tags(store, 2) == ["kept", "new"]
    assert_tag_finds(store, "new", {2})
    assert_tag_finds(store, "old", set())
    assert_tag_finds(store, "kept", {1, 2})


def test_a_replacement_without_tags_drops_the_old_ones(store: Store) -> None:
    store.ingest([new_event(1, attributes={"revision": 1}, tags=("old",))])
    assert store.ingest([new_event(1, attributes={"revision": 2})]).stored == 1
    assert store.get_event(1).tags == ()
    assert stored_tags(store, 1) == []
    assert_tag_finds(store, "old", set())


def test_a_replacement_of_an_untagged_event_adds_its_tags(store: Store) -> None:
    store.ingest([new_event(1, attributes={"revision": 1})])
    assert store.ingest([new_event(1, attributes={"revision": 2}, tags=("new",))]).stored == 1
    assert stored_tags(store, 1) == ["new"]
    assert_tag_finds(store, "new", {1})


def test_a_lower_revision_changes_no_tags(store: Store) -> None:
    store.ingest([new_event(1, attributes={"revision": 2}, tags=("kept",))])
    store.ingest([new_event(1, attributes={"revision": 1}, tags=("stale",))])
    assert stored_tags(store, 1) == ["kept"]
    assert_tag_finds(store, "stale", set())
    assert_tag_finds(store, "kept", {1})
