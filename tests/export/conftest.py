"""A demo investigation with a note, a manual link with a reason and two verdicts."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import EventKind, LinkReason, NewEvent, Severity, Source, Store, audit, verdicts
from storage.lookups import event_ids_by_key
from workbench.correlation import rank_suspects
from workbench.demo import load_demo

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def seeded(store: Store) -> int:
    """Load the demo, add a note and a hand link with a reason, rule out and confirm."""
    inv_id = load_demo(store, now=NOW).investigation_id
    note = NewEvent(source=Source.MANUAL, kind=EventKind.NOTE, severity=Severity.INFO,
                    occurred_at=NOW, title="pool size lowered to 4 in 9f3c2e1",
                    body="rolled back at 12:05\u202e", dedup_key="note:test:1")
    store.ingest([note])
    with store.read() as session:
        key = ("manual", "note:test:1")
        note_id = event_ids_by_key(session=session, keys=[key])[key]
    store.link_events(inv_id, [note_id], reason=LinkReason.MANUAL, note="the why",
                      linked_by="alice")
    suspects = rank_suspects(store, store.get_investigation(inv_id))
    with store.write() as session:
        verdicts.set_verdict(session=session, investigation_id=inv_id,
                             event_id=suspects[1].event.id, verdict=verdicts.Verdict.RULED_OUT,
                             actor="bob", note="config only")
        verdicts.set_verdict(session=session, investigation_id=inv_id,
                             event_id=suspects[0].event.id, verdict=verdicts.Verdict.CONFIRMED,
                             actor="alice", note=None)
        audit.record(session=session, actor="test", action="seed")
    return inv_id
