"""Dead-letter storage: records that could not be stored, kept for inspection and replay.

The same payload failing again for the same connector is one entry whose
``attempts`` and ``last_seen`` move, not a new row. Replay policy (re-parsing with
the current parser) lives with the connectors; this module only stores state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.converters import dead_letter_from_row
from storage.events import NotFoundError
from storage.models import DeadLetter, DeadLetterStatus, NewDeadLetter, Page, utcnow
from storage.pagination import Cursor, int_value
from storage.tables import DeadLetterRow


def enqueue(*, session: Session, letter: NewDeadLetter, now: datetime | None = None) -> int:
    """Store ``letter`` (or bump the pending entry for the same payload); return its id."""
    now = now or utcnow()
    digest = letter.payload_hash()
    existing = session.scalars(
        select(DeadLetterRow).where(
            DeadLetterRow.connector == letter.connector,
            DeadLetterRow.payload_hash == digest,
            DeadLetterRow.status == DeadLetterStatus.PENDING.value,
        )
    ).first()
    if existing is not None:
        existing.attempts += letter.attempts
        existing.last_seen = now
        existing.error_class = letter.error_class
        existing.message = letter.message
        session.flush()
        return existing.id
    row = DeadLetterRow(
        connector=letter.connector, payload=letter.payload, payload_hash=digest,
        error_class=letter.error_class, message=letter.message, source_ref=letter.source_ref,
        attempts=letter.attempts, status=DeadLetterStatus.PENDING.value,
        first_seen=now, last_seen=now,
    )
    session.add(row)
    session.flush()
    return row.id


def get_dead_letter(*, session: Session, letter_id: int) -> DeadLetter:
    """One entry by id; :class:`NotFoundError` if there is none."""
    row = session.get(DeadLetterRow, letter_id)
    if row is None:
        raise NotFoundError(f"dead letter {letter_id} not found")
    return dead_letter_from_row(row)


def list_dead_letters(
    *,
    session: Session,
    connector: str | None = None,
    status: DeadLetterStatus | None = DeadLetterStatus.PENDING,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeadLetter]:
    """Entries newest first, optionally for one connector and one status."""
    stmt = select(DeadLetterRow)
    if connector is not None:
        stmt = stmt.where(DeadLetterRow.connector == connector)
    if status is not None:
        stmt = stmt.where(DeadLetterRow.status == status.value)
    if cursor is not None:
        stmt = stmt.where(DeadLetterRow.id < int_value(Cursor.decode(cursor, 1).key[0]))
    rows = session.scalars(stmt.order_by(DeadLetterRow.id.desc()).limit(limit + 1)).all()
    items = [dead_letter_from_row(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page(items=items, next_cursor=Cursor((items[-1].id,)).encode() if more else None)


def count_pending(*, session: Session) -> dict[str, int]:
    """Pending entries per connector."""
    stmt = (
        select(DeadLetterRow.connector, func.count())
        .where(DeadLetterRow.status == DeadLetterStatus.PENDING.value)
        .group_by(DeadLetterRow.connector)
    )
    return {name: n for name, n in session.execute(stmt)}


def resolve(
    *,
    session: Session,
    letter_id: int,
    status: DeadLetterStatus,
    by: str | None = None,
    error: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> DeadLetter:
    """Move an entry to ``status``; a failed replay passes ``error`` and stays pending.

    Resolving an entry that is already replayed or discarded returns it unchanged,
    which is what makes replay idempotent. A resolution made by someone (``by``: a
    token name, ``cli:<user>``, ``tui:<user>``) is audited here, in the same
    transaction, whichever door it came through; a no-op is not.
    """
    row = session.get(DeadLetterRow, letter_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"dead letter {letter_id} not found")
    now = now or utcnow()
    if row.status != DeadLetterStatus.PENDING.value:
        return dead_letter_from_row(row)
    before = {"status": row.status, "attempts": row.attempts}
    if error is not None:
        row.attempts += 1
        row.last_seen = now
        row.error_class, row.message = error
    else:
        row.status = status.value
        row.resolved_at = now
        row.resolved_by = by
    session.flush()
    if by is not None:
        action = "dlq.discard" if row.status == DeadLetterStatus.DISCARDED.value else \
            "dlq.replay"
        audit.record(session=session, actor=by, action=action, target=f"dead_letter:{row.id}",
                     detail={"connector": row.connector,
                             **({"error": error[0]} if error is not None else {})},
                     before=before, after={"status": row.status, "attempts": row.attempts},
                     now=now)
    return dead_letter_from_row(row)


def lock_dead_letter(*, session: Session, letter_id: int) -> DeadLetter:
    """One entry, row-locked until the transaction ends (FOR UPDATE on PostgreSQL).

    Replay takes this lock first, so two racing replays of the same entry run one
    after the other and the second sees it already replayed. (SQLite writers are
    serialised by BEGIN IMMEDIATE anyway.)
    """
    row = session.get(DeadLetterRow, letter_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"dead letter {letter_id} not found")
    return dead_letter_from_row(row)
