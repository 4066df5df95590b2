"""Store-side work of the runtime. Blocking: the supervisor runs it with ``to_thread``.

``commit_batch`` is the only way the supervisor writes a batch: events, dead
letters, the cursor in one ingest transaction. If the
database rejects the batch for a reason that is about the data (a value too long
for a column, an encoding PostgreSQL refuses), the batch is retried one event at
a time and each rejected event goes to the DLQ as its JSON, marked
:data:`STORE_REJECTED` so that replay knows to re-read it as an event rather than
with the connector's parser. Operational errors (locked, disconnected) propagate:
the cursor was not stored, so the next poll reads the same records again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from connectors import tracing
from connectors.base import Batch
from storage import Store
from storage import connector_health as health_rows
from storage.cursors import get_cursor
from storage.dead_letters import count_pending
from storage.ingest import ingest
from storage.leases import Grant, fence
from storage.models import IngestResult, NewDeadLetter, NewEvent

STORE_REJECTED = "StoreRejected"
"""``error_class`` prefix of dead letters whose payload is an event's JSON."""


@dataclass(frozen=True, slots=True)
class Committed:
    """What a commit stored, and the connector's DLQ size right after it."""

    result: IngestResult
    dlq_size: int


def load_cursor(store: Store, connector: str) -> tuple[str | None, int]:
    """The connector's stored cursor and its pending DLQ size (where a runner starts)."""
    with store.read() as session:
        return get_cursor(session=session, connector=connector), _dlq_size(session, connector)


def save_health(store: Store, connector: str, snapshot: Mapping[str, Any]) -> None:
    """Persist one health snapshot in its own small transaction."""
    with store.write() as session:
        health_rows.save_health(session=session, connector=connector, snapshot=snapshot)


def commit_batch(store: Store, connector: str, batch: Batch,
                 grant: Grant | None = None) -> Committed:
    """Commit ``batch`` (events, dead letters, cursor) in one transaction.

    With a ``grant`` the transaction first renews that lease under a row lock and
    raises :class:`~storage.leases.LeaseLostError` (storing nothing) if it is gone.
    """
    with tracing.ingest_span(connector, len(batch.events), len(batch.dead_letters)) as span:
        try:
            committed = _commit(store, connector, batch.events, batch.dead_letters,
                                batch.cursor, grant)
        except OperationalError:
            raise
        except DBAPIError:
            committed = _commit_isolating(store, connector, batch, grant)
        tracing.record_result(span, committed.result)
        return committed


def _commit(store: Store, connector: str, events: Sequence[NewEvent],
            letters: Sequence[NewDeadLetter], cursor: str | None,
            grant: Grant | None) -> Committed:
    with store.write() as session:
        if grant is not None:
            fence(session=session, grant=grant)  # first: lease row, then the rest
        result = ingest(session=session, events=events, dead_letters=letters,
                        connector=connector, cursor=cursor)
        return Committed(result, _dlq_size(session, connector))


def _commit_isolating(store: Store, connector: str, batch: Batch,
                      grant: Grant | None) -> Committed:
    """One transaction still: each event in a savepoint, rejects become dead letters."""
    with store.write() as session:
        if grant is not None:
            fence(session=session, grant=grant)
        stored = deduplicated = 0
        letters = list(batch.dead_letters)
        for event in batch.events:
            try:
                with session.begin_nested():
                    part = ingest(session=session, events=[event])
            except OperationalError:
                raise
            except DBAPIError as exc:
                letters.append(_rejected(connector, event, exc))
                continue
            stored += part.stored
            deduplicated += part.deduplicated
        ingest(session=session, events=[], dead_letters=letters, connector=connector,
               cursor=batch.cursor)
        result = IngestResult(received=len(batch.events) + len(batch.dead_letters),
                              stored=stored, deduplicated=deduplicated,
                              dead_lettered=len(letters))
        return Committed(result, _dlq_size(session, connector))


def _rejected(connector: str, event: NewEvent, exc: DBAPIError) -> NewDeadLetter:
    cause = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
    return NewDeadLetter(
        connector=connector, payload=event.model_dump_json().encode(),
        error_class=f"{STORE_REJECTED}:{cause}"[:256],
        message=f"the store refused the event: {str(exc.orig or exc)[:4000]}",
        source_ref=f"dedup_key={event.effective_dedup_key()}"[:2048])


def _dlq_size(session: Session, connector: str) -> int:
    return count_pending(session=session).get(connector, 0)
