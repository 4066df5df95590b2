"""The TUI's store adapter on every engine (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from storage import Store
from storage.models import EventKind, InvestigationStatus, NewEvent, Severity, Source
from storage.queries import EventQuery
from tests.tui.conftest import NOW, seed
from workbench.tui.data import Repo
from workbench.tui.filters import Filter, parse


def test_repo_reads_and_writes(store: Store) -> None:
    """Filters (incl. source via linked events), live tail, histogram, request-id pivot,
    preceding changes, notes as manual events, create-from-events."""
    inv_id = seed(store)
    repo = Repo(store)
    assert [i.id for i in repo.investigations(parse("source:traces", ("source",)),
                                              sort="updated_at", limit=10)] == [inv_id]
    assert repo.investigations(parse("status:resolved", ("status",)),
                               sort="severity", limit=10) == []
    error = next(le.event for le in store.investigation_events(inv_id)
                 if le.event.severity is Severity.HIGH and "request_id" in le.event.attributes)
    same_request = repo.request_id_events(error.attributes["request_id"])
    assert error.id in same_request
    changes = repo.preceding_changes(error)
    assert changes and changes[0].kind in (EventKind.DEPLOY, EventKind.COMMIT)
    assert all(c.occurred_at <= error.occurred_at for c in changes)
    size, series = repo.histogram(EventQuery(start=NOW - timedelta(hours=2), end=NOW), 60)
    assert size == 120 and sum(n for _, _, n in series) > 50
    newest = repo.max_event_id()
    store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, occurred_at=NOW,
                           title="after", dedup_key="after-1")])
    tail = repo.events_after(EventQuery(), newest, 10)
    assert [e.title for e in tail] == ["after"]
    note = repo.add_note(inv_id, "restarted the pool\nsecond line", author="t", now=NOW)
    assert (note.source, note.kind, note.title) == (Source.MANUAL, EventKind.NOTE,
                                                    "restarted the pool")
    assert note.id in {le.event.id for le in store.investigation_events(inv_id)}
    created = repo.create("from two", [error.id, note.id], author="t")
    assert created.event_count == 2 and created.impact_started_at == error.occurred_at
    assert repo.set_status(created.id, InvestigationStatus.RESOLVED).resolved_at is not None
    assert repo.investigations(Filter(), sort="title", limit=10)[0].title == "Checkout " \
        "payments failing: connection pool exhausted"


def test_every_tui_write_is_audited(store: Store) -> None:
    """Status, fields (owner, severity), note, create, link, unlink, tags: one audit row
    each, actor = the TUI's user, committed with the write; a refused write leaves none."""
    from storage import audit

    inv_id = seed(store)
    repo = Repo(store, actor="alice")
    event_id = store.investigation_events(inv_id)[0].event.id
    repo.set_status(inv_id, InvestigationStatus.RESOLVED)
    repo.update(inv_id, {"owner": "bob"})
    repo.update(inv_id, {"severity": Severity.LOW})
    repo.add_note(inv_id, "a note", author="alice", now=NOW)
    created = repo.create("new", [], author="alice")
    repo.link(created.id, [event_id], author="alice")
    repo.unlink(created.id, event_id)
    repo.set_tags(event_id, ["x"])
    with contextlib.suppress(ValueError):  # resolved -> resolved is refused
        repo.set_status(inv_id, InvestigationStatus.RESOLVED)
    with store.read() as session:
        entries = list(reversed(audit.list_entries(session=session, actor="alice")))
    assert [e.action for e in entries] == [
        "investigation.status", "investigation.update", "investigation.update",
        "investigation.note", "investigation.create", "investigation.link",
        "investigation.unlink", "event.tags"]
    assert entries[1].detail["values"] == {"owner": "bob"}
    assert all(e.target and e.detail["via"] == "tui" for e in entries)
