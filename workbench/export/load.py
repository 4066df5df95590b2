"""Loading an investigation bundle into a store: checked, idempotent, audited.

Every section's checksum is verified before anything is written; a mismatch names
the section (:class:`BundleError`). The import is one write transaction:

1. the events are ingested through the one ingest path (dedup by source and key: an
   event already here is not stored twice; one stored with different content is a
   conflict, kept in the DLQ as ingest does for any import);
2. the investigation is found by its origin key (a second import of the same bundle,
   or one of this store's own investigations coming back), else created with the
   exported fields, status and times; fields that differ from an existing one are
   reported as conflicts and the local values kept;
3. links are added with their exported reasons and times (existing links stay), and
   verdicts with who decided and when;
4. if anything changed, one audit row says what (``investigation.import``).

Ids are remapped throughout: a bundle names events by ``[source, dedup_key]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.orm import Session

from storage import audit, grouping_keys, origins
from storage.converters import utc_time
from storage.ingest import ingest
from storage.investigations import create_investigation, get_investigation, lock
from storage.lookups import event_ids_by_key
from storage.models import Investigation, NewEvent, NewInvestigation, utcnow
from storage.store import Store
from workbench.export.bundle import FORMAT, SECTIONS, VERSION, bundle_digest, canonical, digest


class BundleError(ValueError):
    """A bundle that cannot be imported (damaged, tampered with, or not a bundle)."""


@dataclass
class ImportResult:
    """What one import did; a second import of the same bundle changes nothing."""

    investigation_id: int
    created: bool
    events_stored: int = 0
    events_present: int = 0
    links_added: int = 0
    verdicts_added: int = 0
    conflicts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return bool(self.created or self.events_stored or self.links_added
                    or self.verdicts_added)


def read_bundle(data: bytes) -> dict[str, Any]:
    """Parse and verify a bundle; :class:`BundleError` names what is wrong."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BundleError(f"not a bundle: invalid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("manifest"), dict):
        raise BundleError("not a bundle: no manifest")
    manifest = document["manifest"]
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BundleError(f"not a {FORMAT} version {VERSION} file (format "
                          f"{manifest.get('format')!r}, version {manifest.get('version')!r})")
    sums = manifest.get("sha256")
    if not isinstance(sums, dict):
        raise BundleError("the manifest has no checksums")
    for name in SECTIONS:
        if name not in document:
            raise BundleError(f"section {name!r} is missing")
        actual = digest(canonical(document[name]))
        if actual != sums.get(name):
            raise BundleError(f"checksum of section {name!r} does not match: the manifest "
                              f"says {sums.get(name)}, the content hashes to {actual}")
    return document


def _events(document: dict[str, Any]) -> list[NewEvent]:
    try:
        return [NewEvent.model_validate(record) for record in document["events"]]
    except (ValidationError, TypeError) as exc:
        raise BundleError(f"section 'events' holds an invalid event: {exc}") from None


def _record(document: dict[str, Any]) -> tuple[str, NewInvestigation, dict[str, Any]]:
    part = document["investigation"]
    try:
        record = dict(part["record"])
        times = {"created_at": record.pop("created_at"), "updated_at": record.pop("updated_at")}
        return str(part["origin"]), NewInvestigation.model_validate(record), times
    except (KeyError, TypeError, ValidationError) as exc:
        raise BundleError(f"section 'investigation' is invalid: {exc}") from None


def import_bundle(store: Store, data: bytes, *, actor: str, via: str) -> ImportResult:
    """Load the bundle ``data`` into ``store`` in one transaction (see the module doc)."""
    with store.write() as session:
        return load_bundle(session, data, actor=actor, via=via)


def load_bundle(session: Session, data: bytes, *, actor: str, via: str) -> ImportResult:
    """:func:`import_bundle` in the caller's write transaction."""
    document = read_bundle(data)
    events = _events(document)
    origin, new, times = _record(document)
    sha = bundle_digest(document["manifest"]["sha256"])
    stored = ingest(session=session, events=events, report_conflicts=True)
    result = _investigation(session, origin, new, sha)
    result.events_stored, result.events_present = stored.stored, stored.deduplicated
    if stored.conflicting:
        result.conflicts.append(f"{stored.conflicting} events differ from the stored event "
                                "with the same dedup key (kept in the DLQ)")
    ids = event_ids_by_key(session=session, keys=[(e.source.value, e.effective_dedup_key())
                                                  for e in events])
    result.links_added = _links(session, result.investigation_id, document["links"], ids)
    _verdicts(session, result, document["verdicts"], ids)
    if result.created:
        origins.restore_times(session=session, investigation_id=result.investigation_id,
                              created_at=utc_time(_time(times["created_at"])),
                              updated_at=utc_time(_time(times["updated_at"])))
    if result.changed or result.conflicts:
        audit.record(session=session, actor=actor, action="investigation.import",
                     target=f"investigation:{result.investigation_id}",
                     detail={"via": via, "origin": origin, "bundle_sha256": sha,
                             **_counts(result), "conflicts": result.conflicts[:20]})
    return result


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _counts(result: ImportResult) -> dict[str, Any]:
    return {"created": result.created, "events_stored": result.events_stored,
            "links_added": result.links_added, "verdicts_added": result.verdicts_added}


def _investigation(session: Session, origin: str, new: NewInvestigation,
                   sha: str) -> ImportResult:
    found = origins.find_origin(session=session, origin=origin)
    if found is None:
        created = create_investigation(session=session, new=new)
        origins.record_origin(session=session, origin=origin, investigation_id=created.id,
                              bundle_sha256=sha)
        return ImportResult(created.id, created=True)
    lock(session=session, investigation_id=found)
    current = get_investigation(session=session, investigation_id=found)
    return ImportResult(found, created=False, conflicts=_differences(current, new))


def _differences(current: Investigation, new: NewInvestigation) -> list[str]:
    mine = current.model_dump(mode="json", include=set(NewInvestigation.model_fields))
    theirs = new.model_dump(mode="json")
    return [f"field {name}: kept {mine[name]!r}, bundle has {theirs[name]!r}"
            for name in sorted(theirs) if mine.get(name) != theirs[name]]


def _ref(value: Any) -> tuple[str, str]:
    source, key = value
    return str(source), str(key)


def _links(session: Session, investigation_id: int, links: list[dict[str, Any]],
           ids: dict[tuple[str, str], int]) -> int:
    wanted = [(ids[_ref(li["event"])], li) for li in links if _ref(li["event"]) in ids]
    if not wanted:
        return 0
    times = _event_times(session, [event_id for event_id, _ in wanted])
    new_links = [grouping_keys.NewLink(
        investigation_id=investigation_id, event_id=event_id, occurred_at=times[event_id][0],
        keys=times[event_id][1], reason=li["reason"], rule=li["rule"], key=li["key"],
        window_seconds=li["window_seconds"], note=li["note"], linked_by=li["linked_by"],
        linked_at=utc_time(_time(li["linked_at"]))) for event_id, li in wanted]
    grouping_keys.lock_investigations(session=session, ids=[investigation_id])
    return len(grouping_keys.record_links(session=session, links=new_links, now=utcnow()))


def _event_times(session: Session, event_ids: list[int]
                 ) -> dict[int, tuple[datetime, tuple[tuple[str, str], ...]]]:
    from storage.events import get_events

    return {e.id: (e.occurred_at, tuple(grouping_keys.event_keys(
        trace_id=e.trace_id, service=e.service,
        fingerprint=grouping_keys.fingerprint_of(e.attributes))))
        for e in get_events(session=session, ids=event_ids)}


def _verdicts(session: Session, result: ImportResult, verdicts: list[dict[str, Any]],
              ids: dict[tuple[str, str], int]) -> None:
    records = [origins.VerdictRecord(
        event_id=ids[_ref(v["event"])], verdict=str(v["verdict"]), note=v["note"],
        decided_by=str(v["decided_by"]), decided_at=utc_time(_time(v["decided_at"])))
        for v in verdicts if _ref(v["event"]) in ids]
    added, conflicts = origins.restore_verdicts(
        session=session, investigation_id=result.investigation_id, verdicts=records)
    result.verdicts_added = added
    result.conflicts += conflicts
