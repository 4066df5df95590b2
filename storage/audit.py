"""The audit log: one row per change, append-only, hash-chained.

A row says who (``actor``: a token name, ``cli:<user>``, ``tui:<user>``, a service
such as ``grouping``), did what (``action``), to what (``target``), with the details
of the request (``detail``) and what the change replaced and wrote (``before`` and
``after``, JSON). It is written in the caller's transaction, so it commits with the
change or not at all.

Each row carries the hash of the row before it and its own hash, SHA-256 over the
previous hash and the row's content (:func:`entry_hash`). Editing a row changes its
hash; deleting or reordering rows breaks the link of the next one: :func:`verify`
walks the chain and names the first row that does not hold. (Deleting the newest
rows leaves a shorter chain that still holds: keep a copy of the head hash elsewhere
— ``workbench audit verify`` prints it — to detect that too.)

Each tenant has its own chain: the rows, the head read and :func:`verify` are scoped
to the current tenant like every read (:mod:`storage.visibility`), so one tenant's
appends neither see nor break another's. Appending reads the newest hash, so appends
are serialised: on PostgreSQL by a transaction-level advisory lock per tenant, on
SQLite by its single writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from storage.models import UTCDateTime, utcnow
from storage.tables import AuditRow
from storage.tenant_context import tenant_id

MAX_DETAIL = 8_192
GENESIS = "0" * 64
"""The ``prev_hash`` of the first row."""
AUDIT_LOCK = 7262013
"""PostgreSQL advisory lock key serialising appends (ingest holds 7262012)."""


class AuditEntry(BaseModel):
    """One audited change."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: UTCDateTime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    before: Any = None
    after: Any = None
    hash: str | None = None


def _encode(value: Any) -> str:
    encoded = orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).decode()
    if len(encoded) > MAX_DETAIL:
        encoded = orjson.dumps({"truncated": encoded[:MAX_DETAIL]}).decode()
    return encoded


def entry_hash(prev: str, at: datetime, actor: str, action: str, target: str | None,
               detail: str, before: str | None, after: str | None) -> str:
    """The chain hash of one row (its stored text fields, ``at`` to the microsecond)."""
    when = at.astimezone(UTC).isoformat(timespec="microseconds")
    content = orjson.dumps([prev, when, actor, action, target, detail, before, after])
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class Change:
    """One change to append with :func:`record_many` (the arguments of :func:`record`)."""

    action: str
    target: str | None = None
    detail: dict[str, Any] | None = None
    before: Any = None
    after: Any = None


def record(*, session: Session, actor: str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, before: Any = None, after: Any = None,
           now: datetime | None = None) -> None:
    """Append a row (in the caller's transaction, so it commits with the change)."""
    record_many(session=session, actor=actor, now=now,
                changes=[Change(action, target, detail, before, after)])


def record_many(*, session: Session, actor: str, changes: Sequence[Change],
                now: datetime | None = None) -> None:
    """Append one row per change, chained in order, with one read and one insert.

    For writers that change many things at once (a grouping pass links thousands of
    events): the chain head is read once and the rows go in as one executemany, so
    auditing costs one statement per batch rather than two per row.
    """
    if not changes:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key, :tenant)"),
                        {"key": AUDIT_LOCK, "tenant": tenant_id()})
    # The head of the current tenant's chain (the read is scoped by storage.visibility).
    prev = session.scalar(select(AuditRow.hash).order_by(AuditRow.id.desc()).limit(1))
    prev = prev or GENESIS
    at = (now or utcnow()).astimezone(UTC)
    actor = actor[:256]
    rows = []
    for change in changes:
        row = _row_values(prev, at, actor, change)
        rows.append(row)
        prev = row["hash"]
    session.execute(insert(AuditRow), rows)


def _row_values(prev: str, at: datetime, actor: str, change: Change) -> dict[str, Any]:
    action = change.action[:128]
    target = None if change.target is None else change.target[:512]
    detail_text = _encode(change.detail or {})
    before_text = None if change.before is None else _encode(change.before)
    after_text = None if change.after is None else _encode(change.after)
    digest = entry_hash(prev, at, actor, action, target, detail_text, before_text, after_text)
    return {"at": at, "actor": actor, "action": action, "target": target,
            "detail": detail_text, "before": before_text, "after": after_text,
            "prev_hash": prev, "hash": digest}


BOOKKEEPING = frozenset({"updated_at", "event_count"})
"""Fields that change with every write: not what a person changed."""


def diff(before: BaseModel, after: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(old values, new values)`` of the fields that differ (empty: a no-op)."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    keys = [k for k in new if k not in BOOKKEEPING and old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def list_entries(*, session: Session, limit: int = 100, actor: str | None = None,
                 action: str | None = None, target: str | None = None,
                 since: datetime | None = None) -> list[AuditEntry]:
    """The newest entries first; ``action`` matches a prefix (``investigation.``)."""
    stmt = select(AuditRow)
    if actor is not None:
        stmt = stmt.where(AuditRow.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditRow.action.startswith(action, autoescape=True))
    if target is not None:
        stmt = stmt.where(AuditRow.target == target)
    if since is not None:
        stmt = stmt.where(AuditRow.at >= since)
    rows = session.scalars(stmt.order_by(AuditRow.id.desc()).limit(limit))
    return [_entry(r) for r in rows]


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(id=row.id, at=row.at, actor=row.actor, action=row.action,
                      target=row.target, detail=orjson.loads(row.detail),
                      before=None if row.before is None else orjson.loads(row.before),
                      after=None if row.after is None else orjson.loads(row.after),
                      hash=row.hash)


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: rows checked, the head hash, and the first break."""

    rows: int
    head: str
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(*, session: Session, batch: int = 1000) -> Verdict:
    """Walk the chain in id order; stop at the first row whose link or hash is wrong."""
    prev, count = GENESIS, 0
    for row in _rows(session, batch):
        if row.prev_hash != prev:
            return Verdict(count, prev, row.id, "its prev_hash is not the hash of the row "
                           "before it (a row before it was deleted, inserted or reordered)")
        expected = entry_hash(prev, row.at, row.actor, row.action, row.target, row.detail,
                              row.before, row.after)
        if row.hash != expected:
            return Verdict(count, prev, row.id, "its content does not match its hash "
                           "(the row was edited)")
        prev, count = row.hash, count + 1
    return Verdict(count, prev)


def _rows(session: Session, batch: int) -> Iterator[AuditRow]:
    after = 0
    while True:
        rows = list(session.scalars(select(AuditRow).where(AuditRow.id > after)
                                    .order_by(AuditRow.id).limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id
