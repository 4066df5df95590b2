"""What a bundle import needs of the store beyond the ordinary writes.

An investigation moved between stores keeps one *origin* key: the exporting store's
``store/created_at#id`` (``store`` is its random id, ``store_identity``), or the
origin that store itself imported it under. Keys from before the store id
(``created_at#id``) are still read. The
``investigation_origin`` table (unique origin) lets a second import of the same bundle
find the investigation the first one made, and :func:`local_match` recognises a
bundle of one of this store's own investigations coming back.

Verdicts and the investigation's own times are restored as they were recorded (who
decided, when), not re-stamped as decided now by the importer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from storage.converters import utc_time
from storage.models import utcnow
from storage.tables import (
    EventRow,
    InvestigationEventRow,
    InvestigationOriginRow,
    InvestigationRow,
    StoreIdentityRow,
    SuspectVerdictRow,
)
from storage.visibility import tenant_clause


def store_id(*, session: Session) -> str:
    """This store's random id (made by migration 0017)."""
    return str(session.scalar(select(StoreIdentityRow.id)))


def local_origin(*, store: str | None, investigation_id: int, created_at: datetime) -> str:
    """The origin key of an investigation created in ``store`` (``None``: the key as it
    was written before stores had an id)."""
    key = f"{utc_time(created_at).isoformat()}#{investigation_id}"
    return f"{store}/{key}" if store is not None else key


def origin_of(*, session: Session, investigation_id: int, created_at: datetime) -> str:
    """The key a bundle of this investigation carries: where it first came from."""
    found = session.scalar(select(InvestigationOriginRow.origin).where(
        InvestigationOriginRow.investigation_id == investigation_id))
    return found or local_origin(store=store_id(session=session),
                                 investigation_id=investigation_id, created_at=created_at)


def find_origin(*, session: Session, origin: str) -> int | None:
    """The investigation a bundle with ``origin`` became here, if it was imported or is ours."""
    found = session.scalar(select(InvestigationOriginRow.investigation_id).where(
        InvestigationOriginRow.origin == origin))
    return found if found is not None else local_match(session=session, origin=origin)


def local_match(*, session: Session, origin: str) -> int | None:
    """The id of this store's own investigation that ``origin`` names, if it names one."""
    store, _, key = origin.rpartition("/")
    if store and store != store_id(session=session):
        return None  # another store's investigation, whatever its id and time
    stamp, _, raw_id = key.rpartition("#")
    if not raw_id.isdigit() or not stamp:
        return None
    created = session.scalar(select(InvestigationRow.created_at).where(
        InvestigationRow.id == int(raw_id)))
    if created is None or local_origin(store=store or None, investigation_id=int(raw_id),
                                       created_at=created) != origin:
        return None
    return int(raw_id)


def record_origin(*, session: Session, origin: str, investigation_id: int,
                  bundle_sha256: str, now: datetime | None = None) -> None:
    """Remember that ``investigation_id`` was imported from a bundle with ``origin``."""
    session.add(InvestigationOriginRow(origin=origin[:512], investigation_id=investigation_id,
                                       imported_at=now or utcnow(), bundle_sha256=bundle_sha256))
    session.flush()


def restore_times(*, session: Session, investigation_id: int, created_at: datetime,
                  updated_at: datetime) -> None:
    """Set the investigation's created/updated times to the exported ones."""
    session.execute(update(InvestigationRow).where(InvestigationRow.id == investigation_id)
                    .values(created_at=created_at, updated_at=updated_at))


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """A verdict as exported: on which event, what, why, by whom and when."""

    event_id: int
    verdict: str
    note: str | None
    decided_by: str
    decided_at: datetime


def restore_verdicts(*, session: Session, investigation_id: int,
                     verdicts: Sequence[VerdictRecord]) -> tuple[int, list[str]]:
    """Insert the verdicts this investigation lacks; ``(added, conflicts)``.

    A verdict that differs from the one stored for the same change is a conflict: the
    stored one stays. A second confirmed change would break the one-root-cause rule,
    so it is a conflict too.
    """
    stored = {r.event_id: r for r in session.scalars(select(SuspectVerdictRow).where(
        SuspectVerdictRow.investigation_id == investigation_id))}
    confirmed = {r.event_id for r in stored.values() if r.verdict == "confirmed"}
    added, conflicts = 0, []
    for record in verdicts:
        have = stored.get(record.event_id)
        if have is not None:
            if (have.verdict, have.note) != (record.verdict, record.note):
                conflicts.append(f"verdict on event {record.event_id}: kept {have.verdict!r}, "
                                 f"bundle has {record.verdict!r}")
            continue
        if record.verdict == "confirmed" and confirmed:
            conflicts.append(f"verdict on event {record.event_id}: bundle confirms it, but "
                             f"event {min(confirmed)} is confirmed here; not added")
            continue
        session.add(SuspectVerdictRow(
            investigation_id=investigation_id, event_id=record.event_id,
            verdict=record.verdict, note=record.note, decided_by=record.decided_by,
            decided_at=record.decided_at))
        confirmed |= {record.event_id} if record.verdict == "confirmed" else set()
        added += 1
    session.flush()
    return added, conflicts


def link_rows(*, session: Session, investigation_id: int) -> list[dict[str, Any]]:
    """Every link of an investigation as a bundle carries it: the event named by
    ``[source, dedup_key]``, and why, by whom and when it was linked.

    One join, no model per row: a bundle of 100k links spent most of its time
    validating link models it only turned back into dictionaries.
    """
    link, event = InvestigationEventRow, EventRow
    # Core with the time left raw (utc_time converts it once): no ORM result, and no
    # column-type processing per value. The caller has already read the investigation,
    # so the store's visibility rules have let it see it, and so its links.
    stmt = (select(event.source, event.dedup_key, link.reason, link.rule, link.key,
                   link.window_seconds, link.note, link.linked_by,
                   type_coerce(link.linked_at, NullType()))
            .join(event, event.id == link.event_id)
            .where(link.investigation_id == investigation_id, tenant_clause(event))
            .order_by(link.occurred_at, link.event_id))
    return [{"event": [source, key], "reason": reason, "rule": rule, "key": match,
             "window_seconds": window, "note": note, "linked_by": by,
             "linked_at": utc_time(at)}
            for source, key, reason, rule, match, window, note, by, at
            in session.connection().execute(stmt).all()]  # fetched at once, not a row a call
