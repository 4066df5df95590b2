"""Links and what the grouping rules know of them, written in one place and one lock order.

Every link (manual or by a rule) goes through :func:`record_links`, which also keeps
``investigation_key`` (trace ids, alert fingerprints and services of the linked
events) and ``investigation_grouping.last_event_at`` in step. A grouping pass then
reads only the keys its batch carries (:func:`load_state`, primary-key lookups)
instead of every event linked to every open investigation.

Lock order, for every multi-row write here: investigation rows (ascending id,
``FOR UPDATE``) before link, key and grouping rows, each inserted in sorted order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from storage import dialects
from storage.tables import (
    EventRow,
    InvestigationEventRow,
    InvestigationGroupingRow,
    InvestigationKeyRow,
    InvestigationRow,
)

MAX_KEY = 512
OPEN_STATUSES = ("open", "investigating")


def fingerprint_of(attributes: Mapping[str, Any]) -> str | None:
    """The alert fingerprint an event carries, if any."""
    value = attributes.get("fingerprint")
    return value if isinstance(value, str) else None


def event_keys(*, trace_id: str | None, fingerprint: str | None,
               service: str | None) -> list[tuple[str, str]]:
    """The ``(kind, key)`` pairs a linked event adds to its investigation."""
    pairs = (("trace", trace_id), ("fingerprint", fingerprint), ("service", service))
    return [(kind, key) for kind, key in pairs if key and len(key) <= MAX_KEY]


@dataclass(frozen=True, slots=True)
class NewLink:
    """One link to write, with the event fields the grouping keys come from."""

    investigation_id: int
    event_id: int
    occurred_at: datetime
    keys: tuple[tuple[str, str], ...]
    reason: str = "rule"
    rule: str | None = None
    key: str | None = None
    window_seconds: int | None = None
    note: str | None = None
    linked_by: str | None = None
    linked_at: datetime | None = None
    """When it was linked; ``None`` is now (a bundle import keeps the original time)."""


@dataclass(slots=True)
class OpenInvestigation:
    """What the rules need of one open investigation."""

    id: int
    services: set[str]
    last_event_at: datetime | None


@dataclass(slots=True)
class GroupingState:
    """The open investigations, and which of them hold each key of one batch."""

    open: dict[int, OpenInvestigation] = field(default_factory=dict)
    keys: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    episodes: dict[str, int] = field(default_factory=dict)
    """``auto_key -> investigation id`` for the batch's alert episodes (any status)."""


def _dialect(session: Session) -> Any:
    return dialects.module(session)


def load_state(*, session: Session, keys: Iterable[tuple[str, str]],
               auto_keys: Iterable[str]) -> GroupingState:
    """Open investigations with their services and last time, and the batch's key owners."""
    state = GroupingState()
    rows = session.execute(
        select(InvestigationRow.id, InvestigationRow.services,
               InvestigationGroupingRow.last_event_at)
        .outerjoin(InvestigationGroupingRow,
                   InvestigationGroupingRow.investigation_id == InvestigationRow.id)
        .where(InvestigationRow.status.in_(OPEN_STATUSES)))
    for inv_id, services, last in rows:
        state.open[inv_id] = OpenInvestigation(inv_id, set(orjson.loads(services)), last)
    k = InvestigationKeyRow
    for chunk in _chunks(sorted(state.open), 500):
        for inv_id, key in session.execute(select(k.investigation_id, k.key).where(
                k.investigation_id.in_(chunk), k.kind == "service")):
            state.open[inv_id].services.add(key)
    wanted = sorted(set(keys))
    for kind in ("trace", "fingerprint"):
        values = [key for knd, key in wanted if knd == kind]
        for chunk in _chunks(values, 500):
            for key, inv_id in session.execute(select(k.key, k.investigation_id).where(
                    k.kind == kind, k.key.in_(chunk))):
                if inv_id in state.open:
                    state.keys.setdefault((kind, key), set()).add(inv_id)
    g = InvestigationGroupingRow
    for chunk in _chunks(sorted(set(auto_keys)), 500):
        for auto_key, inv_id in session.execute(select(g.auto_key, g.investigation_id).where(
                g.auto_key.in_(chunk))):
            if auto_key is not None:
                state.episodes[auto_key] = inv_id
    return state


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def mark_auto_opened(*, session: Session, investigation_id: int, auto_key: str) -> None:
    """Record the alert episode an investigation was auto-opened for (unique)."""
    session.add(InvestigationGroupingRow(investigation_id=investigation_id, auto_key=auto_key))
    session.flush()


def lock_investigations(*, session: Session, ids: Iterable[int]) -> None:
    """Row-lock investigations in ascending id order (the first step of a multi-row write)."""
    for chunk in _chunks(sorted(set(ids)), 500):
        session.execute(select(InvestigationRow.id).where(InvestigationRow.id.in_(chunk))
                        .order_by(InvestigationRow.id).with_for_update())


def record_links(*, session: Session, links: Sequence[NewLink],
                 now: datetime) -> set[tuple[int, int]]:
    """Insert links (existing ones stay as they were); return the new (investigation, event).

    The caller has locked the investigations (:func:`lock_investigations`).
    """
    if not links:
        return set()
    dialect = _dialect(session)
    ordered = sorted(links, key=lambda li: (li.investigation_id, li.event_id))
    stmt = (dialect.insert(InvestigationEventRow).on_conflict_do_nothing()
            .returning(InvestigationEventRow.investigation_id, InvestigationEventRow.event_id))
    params = [{"investigation_id": li.investigation_id, "event_id": li.event_id,
               "reason": li.reason, "rule": li.rule, "key": li.key,
               "window_seconds": li.window_seconds, "note": li.note,
               "linked_by": li.linked_by, "linked_at": li.linked_at or now,
               "occurred_at": li.occurred_at} for li in ordered]
    new = {(r[0], r[1]) for r in session.execute(stmt, params)}
    added = [li for li in ordered if (li.investigation_id, li.event_id) in new]
    _add_keys(session, dialect, added)
    _bump(session, dialect, added, now)
    return new


def _add_keys(session: Session, dialect: Any, links: Sequence[NewLink]) -> None:
    rows = sorted({(kind, key, li.investigation_id) for li in links for kind, key in li.keys})
    if rows:
        session.execute(dialect.insert(InvestigationKeyRow).on_conflict_do_nothing(),
                        [{"kind": kind, "key": key, "investigation_id": inv}
                         for kind, key, inv in rows])


def _bump(session: Session, dialect: Any, links: Sequence[NewLink], now: datetime) -> None:
    latest: dict[int, datetime] = {}
    for li in links:
        if li.investigation_id not in latest or li.occurred_at > latest[li.investigation_id]:
            latest[li.investigation_id] = li.occurred_at
    if not latest:
        return
    g = InvestigationGroupingRow
    stmt = dialect.insert(g)
    stmt = stmt.on_conflict_do_update(index_elements=[g.investigation_id], set_={
        "last_event_at": case((g.last_event_at.is_(None) | (g.last_event_at
                                                              < stmt.excluded.last_event_at),
                               stmt.excluded.last_event_at), else_=g.last_event_at)})
    session.execute(stmt, [{"investigation_id": i, "last_event_at": t}
                           for i, t in sorted(latest.items())])
    session.execute(update(InvestigationRow).where(InvestigationRow.id.in_(sorted(latest)))
                    .values(updated_at=now))


def rebuild(*, session: Session, investigation_id: int) -> None:
    """Re-derive one investigation's keys and last time from its links (after an unlink).

    Reads every link of that investigation: an unlink is a rare, manual act.
    """
    session.execute(delete(InvestigationKeyRow)
                    .where(InvestigationKeyRow.investigation_id == investigation_id))
    e = EventRow
    rows = session.execute(
        select(e.trace_id, e.attributes, e.service, e.occurred_at)
        .join(InvestigationEventRow, InvestigationEventRow.event_id == e.id)
        .where(InvestigationEventRow.investigation_id == investigation_id))
    keys: set[tuple[str, str]] = set()
    last: datetime | None = None
    for trace_id, attributes, service, occurred in rows:
        keys.update(event_keys(trace_id=trace_id, service=service,
                               fingerprint=fingerprint_of(orjson.loads(attributes))))
        last = occurred if last is None or occurred > last else last
    if keys:
        session.execute(_dialect(session).insert(InvestigationKeyRow),
                        [{"kind": k, "key": v, "investigation_id": investigation_id}
                         for k, v in sorted(keys)])
    g = InvestigationGroupingRow
    session.execute(_dialect(session).insert(g).on_conflict_do_update(
        index_elements=[g.investigation_id], set_={"last_event_at": last}),
        [{"investigation_id": investigation_id, "last_event_at": last}])
