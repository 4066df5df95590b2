"""Dead-letter policy: list, inspect, replay and discard (blocking; call from a thread).

Replay re-parses the stored raw payload with the *current* parser of the
connector that dead-lettered it, then stores the event through the normal ingest
path and marks the entry replayed, all in one transaction that starts by locking
the entry. So replay is idempotent: replaying twice, or from two threads or
processes at once, stores the event once and ends with the entry replayed once
(the loser finds it already resolved). A payload that still does not parse stays
pending with ``attempts + 1`` and the new error.

Which parser: the connector's ``parse`` by name (connectors built from the
config), the push receiver's (``connectors.registry.RECEIVERS``),
``connectors.jsonl.parse_line`` for ``import`` (bulk import), and the event JSON
itself for entries the store rejected (``StoreRejected:*``).

Connectors that read many records per poll or request file each bad one with
:func:`dead_letter` (:func:`parse_records` does it for a list of raw records).

Replayed events are ordered by event time like any other: timelines sort by
``occurred_at``, so a late replay lands where it belongs, not at the end.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from connectors import registry, tracing
from connectors.base import Connector
from connectors.commit import STORE_REJECTED
from connectors.errors import PoisonRecordError
from storage import Store
from storage import dead_letters as rows
from storage.ingest import ingest
from storage.models import DeadLetter, DeadLetterStatus, NewDeadLetter, NewEvent, Page

Parser = Callable[[bytes], NewEvent]
"""Raw payload of one dead letter -> its event (what replay runs)."""
RecordParser = Callable[[bytes], "NewEvent | Sequence[NewEvent] | None"]
"""Raw record -> event(s); ``None``/``[]`` for a valid record not worth an event."""
IMPORT_CONNECTOR = "import"


class UnknownParserError(LookupError):
    """No parser is known for the connector that dead-lettered an entry."""


class ReplayStatus(StrEnum):
    """How one replay ended."""

    REPLAYED = "replayed"
    """Parsed and stored (or found already stored: deduplicated)."""
    FAILED = "failed"
    """Still does not parse; the entry stays pending with the new error."""
    ALREADY_RESOLVED = "already_resolved"
    """Someone replayed or discarded it first; nothing was done."""


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """The result of replaying one entry."""

    letter_id: int
    status: ReplayStatus
    stored: bool = False
    error: str | None = None


class Parsers:
    """Parsers by connector name, with the built-in fallbacks."""

    def __init__(self, parsers: Mapping[str, Parser] | None = None) -> None:
        self._parsers = dict(parsers or {})

    @classmethod
    def of(cls, connectors: Iterable[Connector]) -> Parsers:
        """Each connector's ``parse`` under its name."""
        return cls({c.name: c.parse for c in connectors})

    def for_letter(self, letter: DeadLetter) -> Parser:
        """The parser that should re-read ``letter``'s payload."""
        if letter.error_class.startswith(STORE_REJECTED):
            return NewEvent.model_validate_json
        if letter.connector in self._parsers:
            return self._parsers[letter.connector]
        if letter.connector == IMPORT_CONNECTOR:
            module = importlib.import_module("connectors.jsonl")  # bulk import; lazily
            parse: Parser = module.parse_line
            return parse
        if letter.connector in registry.RECEIVERS:  # push receivers: not in the config
            return replay_one(registry.RECEIVERS[letter.connector].parser())
        raise UnknownParserError(
            f"no connector named {letter.connector!r} is configured, so its records "
            "cannot be re-parsed (add it to the config, or discard the entry)")


def replay_one(many: RecordParser) -> Parser:
    """A replay parser from a record parser that may yield several events (or none).

    Replay stores one event per entry: a record that holds several (a push of many
    commits) cannot be replayed whole -- the others were stored when it first came,
    unless the whole record failed, in which case replay says so and keeps it.
    """
    def parse(raw: bytes) -> NewEvent:
        parsed = many(raw)
        events = [parsed] if isinstance(parsed, NewEvent) else list(parsed or ())
        if len(events) != 1:
            raise PoisonRecordError(f"record holds {len(events)} events, replay stores one "
                                    "(re-send it from the source instead)", payload=raw)
        return events[0]

    return parse




@dataclass
class Parsed:
    """The events and dead letters one request produced."""

    events: list[NewEvent] = field(default_factory=list)
    dead_letters: list[NewDeadLetter] = field(default_factory=list)
    ignored: int = 0


def dead_letter(connector: str, raw: bytes, exc: Exception, source_ref: str | None = None
                ) -> NewDeadLetter:
    """A DLQ entry for a record that failed with ``exc``."""
    error_class = exc.error_class if isinstance(exc, PoisonRecordError) else type(exc).__name__
    if isinstance(exc, PoisonRecordError) and exc.source_ref:
        source_ref = exc.source_ref
    return NewDeadLetter(connector=connector, payload=raw, error_class=error_class[:256],
                         message=str(exc)[:8_000] or error_class, source_ref=source_ref)


def parse_records(connector: str, records: Iterable[bytes], parse: RecordParser) -> Parsed:
    """Run ``parse`` on every record; a failure dead-letters that record only."""
    out = Parsed()
    for raw in records:
        try:
            parsed = parse(raw)
        except Exception as exc:  # noqa: BLE001 -- any record that fails is dead-lettered
            # A sender's odd record (or a gap in a parser) costs that record a DLQ
            # entry, never the request a 500 and a retry storm.
            out.dead_letters.append(dead_letter(connector, raw, exc))
            continue
        if isinstance(parsed, NewEvent):
            out.events.append(parsed)
        elif parsed:
            out.events.extend(parsed)
        else:
            out.ignored += 1
    return out


def replay(store: Store, letter_id: int, parsers: Parsers, *, by: str | None = None
           ) -> ReplayOutcome:
    """Re-parse and store one entry; see the module docstring for the guarantees."""
    with tracing.span("dlq.replay", {"workbench.dlq.letter_id": letter_id}) as span:
        outcome = _replay(store, letter_id, parsers, by=by)
        if span is not None:
            span.set_attribute("workbench.dlq.outcome", outcome.status.value)
        return outcome


def _replay(store: Store, letter_id: int, parsers: Parsers, *, by: str | None
            ) -> ReplayOutcome:
    with store.write() as session:
        letter = rows.lock_dead_letter(session=session, letter_id=letter_id)
        if letter.status is not DeadLetterStatus.PENDING:
            return ReplayOutcome(letter_id, ReplayStatus.ALREADY_RESOLVED)
        parse = parsers.for_letter(letter)
        try:
            event = parse(letter.payload)
        except (PoisonRecordError, ValidationError, ValueError) as exc:
            error_class = getattr(exc, "error_class", type(exc).__name__)
            rows.resolve(session=session, letter_id=letter_id, status=DeadLetterStatus.PENDING,
                         error=(error_class[:256], str(exc)[:8000]), by=by)
            return ReplayOutcome(letter_id, ReplayStatus.FAILED, error=str(exc))
        try:
            with session.begin_nested():  # a store rejection must not abort the transaction
                result = ingest(session=session, events=[event])
        except OperationalError:
            raise
        except DBAPIError as exc:
            cause = type(exc.orig or exc).__name__
            rows.resolve(session=session, letter_id=letter_id, status=DeadLetterStatus.PENDING,
                         error=(f"{STORE_REJECTED}:{cause}"[:256], str(exc.orig or exc)[:8000]),
                         by=by)
            return ReplayOutcome(letter_id, ReplayStatus.FAILED, error=str(exc.orig or exc))
        rows.resolve(session=session, letter_id=letter_id, status=DeadLetterStatus.REPLAYED,
                     by=by)
        return ReplayOutcome(letter_id, ReplayStatus.REPLAYED, stored=result.stored == 1)


def replay_all(store: Store, parsers: Parsers, *, connector: str | None = None,
               by: str | None = None) -> list[ReplayOutcome]:
    """Replay every pending entry (of ``connector``), oldest first."""
    pending = [letter.id for letter in iter_pending(store, connector=connector)]
    return [replay(store, letter_id, parsers, by=by) for letter_id in sorted(pending)]


def discard(store: Store, letter_id: int, *, by: str | None = None) -> DeadLetter:
    """Give up on an entry on purpose (counted as discarded, kept for audit)."""
    with store.write() as session:
        return rows.resolve(session=session, letter_id=letter_id,
                            status=DeadLetterStatus.DISCARDED, by=by)


def inspect(store: Store, letter_id: int) -> DeadLetter:
    """One entry with its payload; ``NotFoundError`` if there is none."""
    with store.read() as session:
        return rows.get_dead_letter(session=session, letter_id=letter_id)


def list_letters(store: Store, *, connector: str | None = None,
                 status: DeadLetterStatus | None = DeadLetterStatus.PENDING,
                 limit: int = 50, cursor: str | None = None) -> Page[DeadLetter]:
    """A page of entries, newest first."""
    with store.read() as session:
        return rows.list_dead_letters(session=session, connector=connector, status=status,
                                      limit=limit, cursor=cursor)


def iter_pending(store: Store, *, connector: str | None = None) -> Iterable[DeadLetter]:
    """Every pending entry (of ``connector``), page by page."""
    cursor: str | None = None
    while True:
        page = list_letters(store, connector=connector, limit=200, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
