"""The push ingest path shared by the receivers (webhooks, OTLP).

Which receivers exist, their parsers and secrets, is :data:`connectors.registry.RECEIVERS`.
A receiver parses its request into records (:func:`connectors.dlq.parse_records`);
each record either becomes an event or a dead letter (filed under the receiver's
name with its raw payload, so it can be replayed once the parser is fixed).
:func:`ingest_push` then stores
both through ``storage.ingest.ingest`` -- in a worker thread, because SQL never runs
on the event loop -- and counts what happened per receiver for the health view.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors import tracing
from storage.models import IngestResult, NewDeadLetter, NewEvent, utcnow
from storage.tenant_context import DEFAULT_TENANT, current
from storage.txretry import run_retrying

if TYPE_CHECKING:
    from connectors.health import HealthRegistry

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
    push sources show in the same health table as pull connectors: in the entry of the
    tenant the delivery is stored in (the current one), so each tenant sees only what
    its own senders did.
    """
    batch, letters = list(events), list(dead_letters)
    # Several instances may store overlapping batches at once (a sender posting to
    # each): a deadlock victim is retried, then reported (503), never dropped.
    with tracing.ingest_span(connector, len(batch), len(letters)) as span:
        result: IngestResult = await asyncio.to_thread(
            run_retrying, lambda: store.ingest(batch, dead_letters_=letters))
        tracing.record_result(span, result)
    if stats is not None:
        stats.add(connector, requests=1, received=result.received, stored=result.stored,
                  deduplicated=result.deduplicated, dead_lettered=result.dead_lettered,
                  ignored=ignored)
        stats.note(connector)
    if health is not None:
        tenant = current().tenant_id or DEFAULT_TENANT
        register_receiver(health, connector, kind, tenant)
        health.record_batch(connector, result.received + ignored, result,
                            times=[e.occurred_at for e in batch], tenant=tenant)
    return result


def register_receiver(health: HealthRegistry, connector: str, kind: str,
                      tenant: int = DEFAULT_TENANT) -> None:
    """Make a receiver visible in ``tenant``'s health table (running: it listens, never
    polls)."""
    from connectors.health import RunStatus  # the registry is optional for receivers

    health.register(connector, kind, tenant)
    if health.get(connector, tenant).status is RunStatus.STARTING:
        health.set_status(connector, RunStatus.RUNNING, tenant)


def record_refusal(health: HealthRegistry | None, connector: str, kind: str, reason: str
                   ) -> None:
    """Show a refused delivery (bad signature, wrong token) in the health table.

    The receiver itself is fine, so its status does not change; the refusal is its
    last error, so someone sending with a wrong secret is visible to the on-call. A
    refused delivery belongs to no tenant: it shows in the default tenant's entry (the
    deployment's own).
    """
    if health is None:
        return
    register_receiver(health, connector, kind)
    before = health.get(connector, DEFAULT_TENANT)
    health.update(connector, DEFAULT_TENANT, errors=before.errors + 1, last_error=reason,
                  last_error_class="Unauthorized", last_error_at=utcnow())
