"""An investigation bundle: one JSON file that moves an investigation to another store.

Sections (each checksummed in the manifest, SHA-256 over its canonical JSON: sorted
keys, orjson's compact form, which a reader reproduces from the parsed document):

- ``investigation``: its ``origin`` key (:mod:`storage.origins`) and its record --
  every field, status and typed timestamp, created/updated times;
- ``events``: the linked events, the suspect changes and every change a verdict
  names, in the import format (with dedup keys: the other store dedups on them);
- ``links``: per linked event (by ``[source, dedup_key]``, ids differ between
  stores) the reason, rule, key, window, note, who linked it and when;
- ``verdicts``: the responders' verdicts on suspect changes, with who and when.

Notes are manual events linked to the investigation, so they travel as events and
links. The document goes through :func:`~workbench.sanitize.json_safe`: lossless,
and safe to print to a terminal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from storage import origins
from storage.converters import import_values
from storage.event_sql import stream_rows
from storage.events import get_events
from storage.gcpause import gc_paused
from storage.investigations import get_investigation
from storage.models import Event, utcnow
from storage.queries import EventQuery
from storage.store import Store
from storage.verdicts import SuspectVerdict, list_verdicts
from workbench.correlation import analyse_in
from workbench.export.timeline import import_record
from workbench.sanitize import json_safe
from workbench.suspect_settings import SuspectSettings

FORMAT = "workbench-bundle"
VERSION = 1
SECTIONS = ("investigation", "events", "links", "verdicts")
SUSPECTS = 50
"""Suspect changes carried along, so the other store ranks the same changes."""


def canonical(value: Any) -> bytes:
    """The bytes a section's checksum is taken over (export and import alike)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def digest(value: bytes) -> str:
    """SHA-256 in hex."""
    return hashlib.sha256(value).hexdigest()


def bundle_digest(checksums: dict[str, str]) -> str:
    """One digest for the whole bundle: over its sections' digests, in section order."""
    return digest("".join(checksums[name] for name in SECTIONS).encode())


def event_ref(event: Event) -> list[str]:
    """How a bundle names an event: ``[source, dedup_key]`` (unique in every store)."""
    return [event.source.value, event.dedup_key]


@dataclass(frozen=True, slots=True)
class Bundle:
    """A built bundle: the document, and what it holds."""

    document: bytes
    counts: dict[str, int]
    sha256: str


def _verdict(verdict: SuspectVerdict, event: Event) -> dict[str, Any]:
    return {"event": event_ref(event), "verdict": verdict.verdict.value, "note": verdict.note,
            "decided_by": verdict.decided_by, "decided_at": verdict.decided_at}


def _linked(session: Session, investigation_id: int) -> tuple[list[dict[str, Any]], set[int]]:
    """The linked events as import records, oldest first, and their ids: the event
    query's linked timeline read in one pass, no model per event."""
    records: list[dict[str, Any]] = []
    ids: set[int] = set()
    query = EventQuery(investigation_id=investigation_id, order="asc")
    for rows in stream_rows(session.connection(), query):
        ids.update(row[0] for row in rows)
        records.extend(map(import_values, rows))
    return records, ids


def sections(store: Store, investigation_id: int,
             settings: SuspectSettings | None = None) -> dict[str, Any]:
    """The four sections of ``investigation_id``'s bundle, read in one transaction."""
    with store.read() as session:
        inv = get_investigation(session=session, investigation_id=investigation_id)
        records, linked = _linked(session, investigation_id)
        links = origins.link_rows(session=session, investigation_id=investigation_id)
        suspects = analyse_in(session, inv, settings=settings, limit=SUSPECTS).suspects
        verdicts = list_verdicts(session=session, investigation_id=investigation_id)
        judged = {e.id: e for e in get_events(session=session, ids=sorted(verdicts))}
        origin = origins.origin_of(session=session, investigation_id=inv.id,
                                   created_at=inv.created_at)
    extra = {e.id: e for e in [*(s.event for s in suspects), *judged.values()]
             if e.id not in linked}
    records.extend(import_record(e) for e in sorted(extra.values(),
                                                    key=lambda e: (e.occurred_at, e.id)))
    record = inv.model_dump(mode="json", exclude={"id", "event_count"})
    return {
        "investigation": {"origin": origin, "record": record},
        "events": records,
        "links": links,
        "verdicts": [_verdict(v, judged[i]) for i, v in sorted(verdicts.items()) if i in judged],
    }


def build_bundle(store: Store, investigation_id: int, *,
                 settings: SuspectSettings | None = None,
                 now: datetime | None = None) -> Bundle:
    """The bundle of one investigation (:class:`~storage.NotFoundError` if none)."""
    with gc_paused():
        return _build(store, investigation_id, settings, now)


def _build(store: Store, investigation_id: int, settings: SuspectSettings | None,
           now: datetime | None) -> Bundle:
    parts = sections(store, investigation_id, settings)
    encoded = {name: canonical(parts[name]) for name in SECTIONS}
    checksums = {name: digest(encoded[name]) for name in SECTIONS}
    counts = {"events": len(parts["events"]), "links": len(parts["links"]),
              "verdicts": len(parts["verdicts"])}
    manifest = canonical({"format": FORMAT, "version": VERSION,
                          "exported_at": now or utcnow(), "counts": counts,
                          "sha256": checksums})
    body = b",".join([b'"manifest":' + manifest,
                      *(b'"%s":%s' % (name.encode(), encoded[name]) for name in SECTIONS)])
    return Bundle(json_safe(b"{" + body + b"}\n"), counts, bundle_digest(checksums))
