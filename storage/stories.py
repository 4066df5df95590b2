"""Stories: an event that concludes another, and a provisional event the real one replaces.

Some sources tell one story in several events: an alert fires, then resolves; an
anomaly episode opens, then closes. Three attribute keys on :class:`NewEvent` say so
(attributes, so every path -- pull, push, import, DLQ replay -- carries them and the
schema does not change):

* ``concludes``: the dedup key (same source) of the event this one ends. When it is
  stored, that event gets ``concluded = {"at", "by", "event_id", "provisional"}``:
  the firing alert shows that (and when) it resolved. ``at`` is the concluding
  event's ``concludes_at`` attribute if it has one (an anomaly's close is dated at
  the episode's start, but ends at its end), else its ``occurred_at``.
* ``concluded_by``: the dedup key of the event that would end this one. Stories do
  not arrive in order (a resolution may come before its firing, by another path):
  an event stored after its conclusion is marked at once.
* ``provisional``: a stand-in (a resolution inferred because the alert vanished from
  a pull). A later event with the same source and dedup key that is not provisional
  replaces it in place (same id): the real resolution supersedes the inferred one
  instead of being dropped as its duplicate. A provisional conclusion never
  overwrites a real one.
* ``revision``: an integer; a later event with the same key and a higher revision
  replaces the stored one in place (a slow trace re-reported once more of its
  spans arrived); a stored event without one counts as revision 0 (a first report
  need not carry it, and then costs no lookup). A lower or equal revision is a
  duplicate, as usual.

Only events that carry these keys cost a lookup: the ingest hot path is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.orm import Session

from storage import rollup
from storage.converters import event_params
from storage.event_tags import column_tags, write_tags
from storage.models import NewEvent
from storage.search import fts_add, fts_forget
from storage.tables import EventRow
from storage.visibility import tenant_clause

ROLLED_UP = frozenset({"occurred_at", "source", *rollup.DIMENSIONS})
CONCLUDES, CONCLUDED_BY, PROVISIONAL, CONCLUDED, REVISION, CONCLUDES_AT = (
    "concludes", "concluded_by", "provisional", "concluded", "revision", "concludes_at")


def _in_story(event: NewEvent) -> bool:
    attributes = event.attributes
    return CONCLUDES in attributes or CONCLUDED_BY in attributes


def supersede(*, session: Session, events: Sequence[NewEvent], now: datetime) -> int:
    """Replace stored events that ``events`` supersede (see above); the count.

    Runs before the insert, so the newer event then meets a row with its own content
    and is not stored twice.
    """
    newer = {(e.source.value, e.effective_dedup_key()): e for e in events
             if _may_supersede(e.attributes)}
    if not newer:
        return 0
    replaced = 0
    for row in _rows(session, list(newer)):
        event = newer[(row.source, row.dedup_key)]
        if not _supersedes(event.attributes, orjson.loads(row.attributes)):
            continue
        _rewrite(session.connection(), row, event_params(event, now))
        replaced += 1
    return replaced


def revises(attributes: dict[str, Any]) -> bool:
    """Whether an event takes part in replacement (a revision or a provisional stand-in):
    a same-key copy of it with other content is a story step, not a dedup conflict."""
    return isinstance(attributes.get(REVISION), int) or bool(attributes.get(PROVISIONAL)) \
        or CONCLUDES in attributes


def without_marks(attributes: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` without the marks the store itself adds (``concluded``)."""
    return {k: v for k, v in attributes.items() if k != CONCLUDED}


def _may_supersede(attributes: dict[str, Any]) -> bool:
    return isinstance(attributes.get(REVISION), int) or (
        CONCLUDES in attributes and not attributes.get(PROVISIONAL))


def _supersedes(new: dict[str, Any], stored: dict[str, Any]) -> bool:
    if stored.get(PROVISIONAL) and not new.get(PROVISIONAL):
        return True
    revision, before = new.get(REVISION), stored.get(REVISION, 0)
    return isinstance(revision, int) and isinstance(before, int) and revision > before


def conclude(*, session: Session, events: Sequence[NewEvent]) -> None:
    """Mark the concluded side of every story ``events`` take part in (after the insert)."""
    story = [e for e in events if _in_story(e)]
    if not story:
        return
    wanted: set[tuple[str, str]] = set()
    for event in story:
        for key in (event.attributes.get(CONCLUDES), event.attributes.get(CONCLUDED_BY)):
            if isinstance(key, str):
                wanted.add((event.source.value, key))
        wanted.add((event.source.value, event.effective_dedup_key()))
    rows = {(r.source, r.dedup_key): r for r in _rows(session, sorted(wanted))}
    for event in story:
        source = event.source.value
        own = rows.get((source, event.effective_dedup_key()))
        if own is None:
            continue
        target = event.attributes.get(CONCLUDES)
        if isinstance(target, str) and (source, target) in rows:
            _mark(session, rows[(source, target)], own)
        closer = event.attributes.get(CONCLUDED_BY)
        if isinstance(closer, str) and (source, closer) in rows:
            _mark(session, own, rows[(source, closer)])


def _mark(session: Session, target: Any, ender: Any) -> None:
    """Record on ``target`` that the stored event ``ender`` concluded it."""
    attributes = orjson.loads(target.attributes)
    ender_attributes = orjson.loads(ender.attributes)
    at = ender_attributes.get(CONCLUDES_AT) or _iso(ender.occurred_at)
    mark = {"at": str(at), "by": ender.dedup_key, "event_id": ender.id,
            "provisional": bool(ender_attributes.get(PROVISIONAL))}
    current = attributes.get(CONCLUDED)
    if current == mark or (isinstance(current, dict) and not current.get("provisional")
                           and mark["provisional"]):
        return
    attributes[CONCLUDED] = mark
    encoded = orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS).decode()
    # _rewrite updates ``target`` too: later marks in this batch build on this one.
    _rewrite(session.connection(), target, {"attributes": encoded})


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _rows(session: Session, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """Stored events by ``(source, dedup_key)``, with what a rewrite needs."""
    rows: list[Any] = []
    for chunk in range(0, len(keys), 200):
        part = keys[chunk:chunk + 200]
        stmt = select(EventRow.id, EventRow.source, EventRow.dedup_key, EventRow.title,
                      EventRow.body, EventRow.attributes, EventRow.occurred_at).where(
            or_(*(and_(EventRow.source == s, EventRow.dedup_key == k) for s, k in part)))
        rows.extend(_Row(*r) for r in session.execute(stmt))
    return rows


class _Row:
    """A mutable copy of the columns a story rewrites (and the FTS index needs)."""

    def __init__(self, id_: int, source: str, dedup_key: str, title: str, body: str,
                 attributes: str, occurred_at: Any) -> None:
        self.id, self.source, self.dedup_key = id_, source, dedup_key
        self.title, self.body, self.attributes = title, body, attributes
        self.occurred_at = occurred_at


def _rewrite(conn: Connection, row: _Row, values: dict[str, Any]) -> None:
    """Update one event row in place, keeping SQLite's external-content FTS index and
    the tag table true.

    PostgreSQL's search column is generated; SQLite's FTS5 index must be told the
    old text before it changes.
    """
    values = {k: v for k, v in values.items() if k not in ("source", "dedup_key")}
    fts_forget(conn, row.id, row.title, row.body, row.attributes)
    counted = not ROLLED_UP.isdisjoint(values)  # the roll-up follows a moved event
    if counted:
        rollup.apply(conn, [row.id], -1)
    conn.execute(update(EventRow).where(EventRow.id == row.id, tenant_clause(EventRow))
                 .values(**values))
    if counted:
        rollup.apply(conn, [row.id], 1)
    row.title = values.get("title", row.title)
    row.body = values.get("body", row.body)
    row.attributes = values.get("attributes", row.attributes)
    if "occurred_at" in values:
        row.occurred_at = values["occurred_at"]
    fts_add(conn, row.id, row.title, row.body, row.attributes)
    if "tags" in values:  # the tag filter finds the event by its new tags only
        write_tags(conn, {row.id: column_tags(values["tags"])}, replace=True)
