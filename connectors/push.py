"""The push ingest path shared by the receivers (webhooks, OTLP).

A receiver parses its request into records; each record either becomes an event
or a dead letter (filed under the receiver's connector name with its raw payload,
so it can be replayed once the parser is fixed). :func:`ingest_push` then stores
both through ``storage.ingest.ingest`` -- in a worker thread, because SQL never runs
on the event loop -- and counts what happened per receiver for the health view.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.errors import PoisonRecordError
from storage.models import IngestResult, NewDeadLetter, NewEvent, utcnow
from storage.txretry import run_retrying

if TYPE_CHECKING:
    from connectors.health import HealthRegistry

Parser = Callable[[bytes], "NewEvent | Sequence[NewEvent] | None"]
"""Raw record -> event(s); ``None``/``[]`` for a valid record not worth an event."""


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


def parse_records(connector: str, records: Iterable[bytes], parse: Parser) -> Parsed:
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


@dataclass
class ReceiverCounts:
    """Running totals of one receiver (what the health table shows for push sources)."""

    requests: int = 0
    received: int = 0
    stored: int = 0
    deduplicated: int = 0
    dead_lettered: int = 0
    ignored: int = 0
    unauthorized: int = 0
    redelivered: int = 0
    last_success: str | None = None
    last_error: str | None = None


class ReceiverStats:
    """Per-receiver counters, safe to update from the loop and read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, ReceiverCounts] = {}

    def add(self, connector: str, **deltas: int) -> None:
        """Add to counters of ``connector`` (``unauthorized=1``, ``ignored=3`` ...)."""
        with self._lock:
            counts = self._counts.setdefault(connector, ReceiverCounts())
            for name, delta in deltas.items():
                setattr(counts, name, getattr(counts, name) + delta)

    def note(self, connector: str, *, error: str | None = None) -> None:
        """Record a success (no ``error``) or the last error of ``connector``."""
        with self._lock:
            counts = self._counts.setdefault(connector, ReceiverCounts())
            if error is None:
                counts.last_success = utcnow().isoformat()
            else:
                counts.last_error = error[:500]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A copy of every receiver's counters."""
        with self._lock:
            return {name: dict(vars(c)) for name, c in self._counts.items()}


class SeenDeliveries:
    """A bounded memory of delivery ids (``X-GitHub-Delivery``) already ingested.

    Dedup keys already make a redelivery store nothing; this only lets the receiver
    say "redelivered" without parsing, and bounds memory.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def seen(self, delivery: str) -> bool:
        """Whether ``delivery`` was recorded (refreshes its age)."""
        with self._lock:
            if delivery in self._ids:
                self._ids.move_to_end(delivery)
                return True
            return False

    def record(self, delivery: str) -> None:
        """Remember ``delivery``, forgetting the oldest beyond capacity."""
        with self._lock:
            self._ids[delivery] = None
            while len(self._ids) > self._capacity:
                self._ids.popitem(last=False)


async def ingest_push(store: Any, *, connector: str, events: Sequence[NewEvent],
                      dead_letters: Sequence[NewDeadLetter] = (),
                      stats: ReceiverStats | None = None, ignored: int = 0,
                      health: HealthRegistry | None = None, kind: str = "webhook"
                      ) -> IngestResult:
    """Store a receiver's events and dead letters in one transaction, off the loop.

    ``health`` (the connector health registry) gets the batch like a polled one, so
    push sources show in the same health table as pull connectors.
    """
    batch, letters = list(events), list(dead_letters)
    # Several instances may store overlapping batches at once (a sender posting to
    # each): a deadlock victim is retried, then reported (503), never dropped.
    result: IngestResult = await asyncio.to_thread(
        run_retrying, lambda: store.ingest(batch, dead_letters_=letters))
    if stats is not None:
        stats.add(connector, requests=1, received=result.received, stored=result.stored,
                  deduplicated=result.deduplicated, dead_lettered=result.dead_lettered,
                  ignored=ignored)
        stats.note(connector)
    if health is not None:
        register_receiver(health, connector, kind)
        health.record_batch(connector, result.received + ignored, result)
    return result


def register_receiver(health: HealthRegistry, connector: str, kind: str) -> None:
    """Make a receiver visible in the health table (running: it listens, never polls)."""
    from connectors.health import RunStatus  # the registry is optional for receivers

    health.register(connector, kind)
    if health.get(connector).status is RunStatus.STARTING:
        health.set_status(connector, RunStatus.RUNNING)


def receiver_parser(connector: str) -> Callable[[bytes], NewEvent] | None:
    """The DLQ-replay parser of a push receiver (``github-webhook`` ...), if it is one.

    Replay stores one event per entry: for a record that holds several (a push of
    many commits) it is the first one -- the others were stored when it first came,
    unless the whole record failed, in which case replay says so and keeps it.
    """
    from connectors import alertmanager
    from connectors.ci import github_events, gitlab
    from connectors.traces import otlp

    parsers: dict[str, Callable[[bytes], Sequence[NewEvent]]] = {
        "github-webhook": github_events.parse_webhook,
        "gitlab-webhook": gitlab.parse_hook,
        "alertmanager-webhook": lambda raw: [alertmanager.parse_alert(raw)],
        "otlp": otlp.replay_span,
    }
    many = parsers.get(connector)
    if many is None:
        return None

    def parse(raw: bytes) -> NewEvent:
        events = list(many(raw))
        if len(events) != 1:
            raise PoisonRecordError(f"record holds {len(events)} events, replay stores one "
                                    "(re-send it from the source instead)", payload=raw)
        return events[0]

    return parse


def record_refusal(health: HealthRegistry | None, connector: str, kind: str, reason: str
                   ) -> None:
    """Show a refused delivery (bad signature, wrong token) in the health table.

    The receiver itself is fine, so its status does not change; the refusal is its
    last error, so someone sending with a wrong secret is visible to the on-call.
    """
    if health is None:
        return
    register_receiver(health, connector, kind)
    current = health.get(connector)
    health.update(connector, errors=current.errors + 1, last_error=reason,
                  last_error_class="Unauthorized", last_error_at=utcnow())
