"""The bundle's one-pass read (issue 16) against the paths it replaced, on both engines:
the events section equals paging the event query and turning each event into an import
record (plus suspects and judged changes not linked), byte for byte once canonical; the
links equal the ORM read; and ``import_values`` writes the same JSON as
``import_record`` of the event model for every stored row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select

from storage import EventKind, NewEvent, Severity, Source, Store
from storage.converters import EVENT_READ_COLUMNS, event_from_tuple, import_values, utc_time
from storage.events import get_events, list_events
from storage.investigations import get_investigation
from storage.queries import MAX_PAGE, EventQuery
from storage.tables import EventRow, InvestigationEventRow
from storage.verdicts import list_verdicts
from tests.export.conftest import NOW, seeded
from workbench.correlation import analyse_in
from workbench.export.bundle import SUSPECTS, build_bundle, canonical, sections
from workbench.export.timeline import import_record

ODD = [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=s, service=svc,
                occurred_at=NOW - timedelta(minutes=i, microseconds=i), title=t,
                body="b\u202e\x9b", tags=tags, attributes=attrs, host=None,
                trace_id="ab" * 16 if i % 2 else None, dedup_key=f"odd{i}")
       for i, (s, svc, t, tags, attrs) in enumerate([
           (Severity.CRITICAL, "checkout", "naïve µs 😀", ("a", "b"),
            {"z": 1, "a": {"y": [1.5, None]}}),
           (Severity.LOW, None, "-", (), {}),
           (Severity.INFO, "x", "line\nbreak", ("t",), {"big": 2**62, "s": "é"}),
       ], start=1)]


def _old_events(store: Store, inv_id: int) -> list[dict[str, Any]]:
    with store.read() as session:
        inv = get_investigation(session=session, investigation_id=inv_id)
        events: dict[int, Any] = {}
        cursor: str | None = None
        while True:
            page = list_events(session=session, query=EventQuery(
                investigation_id=inv_id, order="asc", limit=MAX_PAGE, cursor=cursor))
            events.update((e.id, e) for e in page.items)
            if (cursor := page.next_cursor) is None:
                break
        suspects = analyse_in(session, inv, limit=SUSPECTS).suspects
        judged = get_events(session=session, ids=sorted(list_verdicts(
            session=session, investigation_id=inv_id)))
    extra = [e for e in [*(s.event for s in suspects), *judged] if e.id not in events]
    for event in sorted(extra, key=lambda e: (e.occurred_at, e.id)):
        events.setdefault(event.id, event)
    return [import_record(e) for e in events.values()]


def _old_links(store: Store, inv_id: int) -> list[dict[str, Any]]:
    link, event = InvestigationEventRow, EventRow
    with store.read() as session:
        rows = session.execute(select(
            event.source, event.dedup_key, link.reason, link.rule, link.key,
            link.window_seconds, link.note, link.linked_by, link.linked_at)
            .join(event, event.id == link.event_id).where(link.investigation_id == inv_id)
            .order_by(link.occurred_at, link.event_id)).all()
    return [{"event": [s, k], "reason": r, "rule": ru, "key": m, "window_seconds": w,
             "note": n, "linked_by": b, "linked_at": utc_time(at)}
            for s, k, r, ru, m, w, n, b, at in rows]


def test_the_one_pass_bundle_equals_the_paged_one(store: Store) -> None:
    inv_id = seeded(store)
    store.ingest(ODD)
    ids = [e.id for e in store.list_events(EventQuery(limit=500)).items
           if e.dedup_key.startswith("odd")]
    store.link_events(inv_id, ids)
    parts = sections(store, inv_id)
    assert canonical(parts["events"]) == canonical(_old_events(store, inv_id))
    assert len(parts["events"]) > 20
    assert canonical(parts["links"]) == canonical(_old_links(store, inv_id))
    assert orjson.loads(build_bundle(store, inv_id).document)["events"] == orjson.loads(
        canonical(_old_events(store, inv_id)))


def test_import_values_write_what_import_record_writes(store: Store) -> None:
    seeded(store)
    store.ingest(ODD)
    with store.read() as session:
        rows = session.connection().execute(select(*EVENT_READ_COLUMNS)).all()
    assert len(rows) > 20
    for row in rows:
        assert orjson.dumps(import_values(row)) == orjson.dumps(
            import_record(event_from_tuple(row))), row
