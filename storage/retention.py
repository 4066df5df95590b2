"""Retention and erasure: old events purged, a data subject's identifier erased.

**Purge** deletes events older than their source's cutoff in batches, one short write
transaction each (the write lock is held for one batch, never for the whole purge),
each with its audit row. Events linked to an investigation are kept: they are its
evidence, and ``seen before`` compares with past incidents. Tags go with their event
(foreign keys), the SQLite FTS entries are removed first; PostgreSQL's search column
goes with the row.

**Erase** finds every event and dead letter whose text contains an identifier (an
e-mail address, a user id; case-insensitive) and deletes it — or, for an event linked
to an investigation, redacts the identifier in place, so the incident keeps its
timeline without the subject. The audit rows name the identifier only by its SHA-256
(the audit log must not become a copy of what was erased).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Exists,
    Row,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage import audit, rollup
from storage.converters import EVENT_COLUMNS, INSERT_NAMES, event_from_row, event_params
from storage.events import set_tags
from storage.search import fts_add, fts_forget, fts_forget_many
from storage.store import Store
from storage.tables import DeadLetterRow, EventRow, InvestigationEventRow
from storage.visibility import tenant_clause

ERASED = "[erased]"
_Found = Row[*tuple[Any, ...]]
"""An event row as erase reads it: every column of the shape, then ``linked``."""

ERASE_SEARCHED = ("title", "body", "url", "attributes", "tags")
"""Columns of the event row shape that hold free text: erasure searches them for the
identifier and, in a linked event, rewrites them without it (the same text a
redaction policy covers, :meth:`storage.redaction.Policy.event`)."""
ERASE_KEPT = {
    "source": "one of the six sources",
    "kind": "one of the event kinds",
    "severity": "a rank",
    "occurred_at": "a time",
    "received_at": "a time",
    "dedup_key": "the event's identity per source (a redacted key could collide)",
    "service": "a system's name, not a person's",
    "environment": "a system's name, not a person's",
    "host": "a system's name, not a person's",
    "trace_id": "a generated id",
    "span_id": "a generated id",
    "commit_sha": "a content hash",
    "tenant_id": "whose row it is (the caller's tenant, never text)",
}
"""Every other column of the shape, with why erasure leaves it as it is."""


def unhandled_by_erase(columns: Collection[str]) -> set[str]:
    """Event columns (``id`` aside) erasure neither searches nor says why it keeps."""
    return set(columns) - {"id"} - set(ERASE_SEARCHED) - set(ERASE_KEPT)


# A column added to the event row shape must be placed in one of the two above.
assert not unhandled_by_erase(INSERT_NAMES), unhandled_by_erase(INSERT_NAMES)


@dataclass
class PurgeReport:
    """What a purge deleted (or, dry, would delete), per source."""

    deleted: dict[str, int] = field(default_factory=dict)
    kept_linked: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _linked() -> Exists:
    return exists().where(InvestigationEventRow.event_id == EventRow.id)


HOLD_TARGET = 0.025
"""Seconds a purge batch should hold the write lock (:func:`next_batch`)."""
MIN_BATCH = 25


def next_batch(size: int, held: float, largest: int) -> int:
    """The next purge batch after one of ``size`` held the write lock ``held`` seconds."""
    if held > 2 * HOLD_TARGET:
        return max(MIN_BATCH, size // 2)
    if held < HOLD_TARGET / 2:
        return min(largest, size * 2)
    return size


def purge(store: Store, cutoffs: Mapping[str, datetime], *, batch: int = 250,
          pause: float = 0.01, dry_run: bool = False, actor: str = "retention") -> PurgeReport:
    """Delete events of each source older than its cutoff, keeping linked ones.

    Each batch is found by a read and deleted in one short write transaction. Between
    batches the purge waits ``pause`` seconds, and at least as long as the batch held
    the write lock, so it never takes more than half of the lock's time: a writer
    waiting meanwhile (a connector, the API) is in SQLite's busy handler, which polls
    with growing sleeps (25 ms, then 50 and 100 ms once it has waited a while); a
    fixed 10 ms gap between 35 ms batches left it polling past gap after gap.

    The batch adapts to keep each hold near :data:`HOLD_TARGET`: halved (down to
    :data:`MIN_BATCH`) after a hold over twice the target, doubled back (up to
    ``batch``) after one under half of it. A waiting writer's latency is about one
    hold, and holds grow with the machine's load, not only with the batch.
    """
    report = PurgeReport()
    size = batch
    for source, cutoff in sorted(cutoffs.items()):
        old: ColumnElement[bool] = (EventRow.source == source) & (EventRow.occurred_at < cutoff)
        with store.read() as session:
            report.kept_linked[source] = session.scalar(
                select(func.count()).select_from(EventRow).where(old & _linked())) or 0
            if dry_run:
                report.deleted[source] = session.scalar(
                    select(func.count()).select_from(EventRow).where(old & ~_linked())) or 0
                continue
        report.deleted[source] = 0
        after = 0
        while True:
            # Found with a read (no write lock held while searching), deleted in a short
            # write that re-checks the link: an event linked meanwhile stays.
            with store.read() as session:
                rows = session.execute(
                    select(EventRow.id, EventRow.title, EventRow.body, EventRow.attributes)
                    .where(old, ~_linked(), EventRow.id > after).order_by(EventRow.id)
                    .limit(size)).all()
            if not rows:
                break
            after = rows[-1][0]
            with store.write() as session:
                conn = session.connection()  # the write lock is taken here
                locked = time.perf_counter()
                done = _delete_events(conn, rows, keep_linked=True)
                if done:
                    audit.record(session=session, actor=actor, action="retention.purge",
                                 target=f"source:{source}",
                                 detail={"deleted": done, "older_than": cutoff.isoformat(),
                                         "first_id": rows[0][0], "last_id": after})
            held = time.perf_counter() - locked
            report.deleted[source] += done
            report.batches += 1
            size = next_batch(size, held, batch)
            time.sleep(max(pause, held))
    return report


def _delete_events(conn: Connection, rows: Sequence[tuple[int, str, str, str]], *,
                   keep_linked: bool = False) -> int:
    """Delete these events (``keep_linked``: those not linked by now) and their FTS
    entries; the number deleted."""
    stmt = select(EventRow.id).where(EventRow.id.in_([row[0] for row in rows]),
                                     tenant_clause(EventRow))
    doomed = list(conn.scalars(stmt.where(~_linked()) if keep_linked else stmt))
    if not doomed:
        return 0
    rollup.apply(conn, doomed, -1)  # counted while the rows are there
    gone_stmt = delete(EventRow).where(EventRow.id.in_(doomed), tenant_clause(EventRow))
    if keep_linked:  # re-checked: an event linked since the read stays
        gone_stmt = gone_stmt.where(~_linked())
    gone = {id_ for (id_,) in conn.execute(gone_stmt.returning(EventRow.id))}
    if kept := [id_ for id_ in doomed if id_ not in gone]:
        rollup.apply(conn, kept, 1)
    fts_forget_many(conn, [(row[0], row[1], row[2], row[3]) for row in rows if row[0] in gone])
    return len(gone)


@dataclass
class EraseReport:
    """What an erasure touched: ids deleted and redacted."""

    events_deleted: list[int] = field(default_factory=list)
    events_redacted: list[int] = field(default_factory=list)
    letters_deleted: list[int] = field(default_factory=list)


def subject_hash(identifier: str) -> str:
    return hashlib.sha256(identifier.strip().lower().encode()).hexdigest()


def erase(store: Store, identifier: str, *, dry_run: bool = False, actor: str = "cli",
          scan_batch: int = 20_000) -> EraseReport:
    """Delete (or redact, when linked) every event and delete every dead letter
    containing ``identifier`` (case-insensitive)."""
    needle = identifier.strip()
    if len(needle) < 4:
        raise ValueError("the identifier must be at least 4 characters (a shorter one "
                         "would match far more than one person)")
    report = EraseReport()
    pattern = re.compile(re.escape(needle), re.IGNORECASE)
    lowered = needle.lower()
    contains = or_(*(func.lower(EventRow.__table__.c[name]).contains(lowered, autoescape=True)
                     for name in ERASE_SEARCHED))
    with store.read() as session:
        top = session.scalar(select(func.max(EventRow.id))) or 0
    for after in range(0, top, scan_batch):     # id ranges: short transactions
        with store.write() as session:
            found = session.execute(
                select(*EVENT_COLUMNS, _linked().label("linked"))
                .where(EventRow.id > after, EventRow.id <= after + scan_batch, contains,
                       tenant_clause(EventRow))
            ).all()
            if dry_run:
                for row in found:
                    (report.events_redacted if row.linked else report.events_deleted
                     ).append(row.id)
            else:
                _erase_events(session, found, pattern, report, needle, actor)
    with store.write() as session:
        letters = [row for row in session.execute(
            select(DeadLetterRow.id, DeadLetterRow.payload, DeadLetterRow.message))
            if lowered.encode() in bytes(row.payload).lower() or lowered in row.message.lower()]
        report.letters_deleted = [row.id for row in letters]
        if letters and not dry_run:
            session.execute(delete(DeadLetterRow).where(
                DeadLetterRow.id.in_(report.letters_deleted)))
            audit.record(session=session, actor=actor, action="privacy.erase",
                         target="dead_letters", detail={"subject_sha256": subject_hash(needle),
                                                        "deleted": report.letters_deleted})
    return report


def _erase_events(session: Session, found: Sequence[_Found], pattern: re.Pattern[str],
                  report: EraseReport, needle: str, actor: str) -> None:
    conn = session.connection()
    unlinked = [(row.id, row.title, row.body, row.attributes) for row in found if not row.linked]
    _delete_events(conn, unlinked)
    deleted = [row[0] for row in unlinked]
    redacted: list[int] = []
    for row in found:
        if row.linked:
            _redact(session, row, pattern)
            redacted.append(row.id)
    if deleted or redacted:
        audit.record(session=session, actor=actor, action="privacy.erase", target="events",
                     detail={"subject_sha256": subject_hash(needle), "deleted": deleted,
                             "redacted": redacted})
    report.events_deleted.extend(deleted)
    report.events_redacted.extend(redacted)


def _redact(session: Session, row: _Found, pattern: re.Pattern[str]) -> None:
    """Rewrite one stored event without the identifier, through the one row shape.

    The erased event is the stored one with :data:`ERASE_SEARCHED` rewritten; the
    update writes the columns whose shaped value changed (the tags through
    :func:`storage.events.set_tags`, which keeps the tag table in step).
    """
    conn = session.connection()
    event = event_from_row(row._mapping)
    erased = event.model_copy(update={name: _erased(getattr(event, name), pattern)
                                      for name in ERASE_SEARCHED})
    before = event_params(event, event.received_at)
    after = event_params(erased, event.received_at)
    changed = {name: value for name, value in after.items() if value != before[name]}
    tags = changed.pop("tags", None)
    fts_forget(conn, row.id, row.title, row.body, row.attributes)
    if changed:
        conn.execute(update(EventRow).where(EventRow.id == row.id, tenant_clause(EventRow))
                     .values(**changed))
    fts_add(conn, row.id, after["title"], after["body"], after["attributes"])
    if tags is not None:
        set_tags(session=session, event_id=row.id, tags=erased.tags)


def _erased(value: Any, pattern: re.Pattern[str]) -> Any:
    """``value`` with every match of ``pattern`` replaced, in text anywhere inside it
    (attribute keys too: an identifier can be a key)."""
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, dict):
        return {_erased(k, pattern): _erased(v, pattern) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_erased(v, pattern) for v in value)
    return value
