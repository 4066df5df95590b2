"""The connector contract.

A pull connector has a ``name``, a pydantic config model, an async
``poll(cursor) -> Batch`` and a pure ``parse(raw) -> NewEvent`` used both by
``poll`` and by DLQ replay: replaying a dead letter re-runs ``parse`` on the stored
raw payload with the current code. Blocking work inside ``poll`` (subprocesses, file
reads) runs in ``asyncio.to_thread``; network connectors take their ``httpx``
client or transport as a constructor parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from connectors.breaker import BreakerSettings
from connectors.retry import RetrySettings
from storage.models import NewDeadLetter, NewEvent
from storage.times import MAX_CLOCK_OFFSET

MAX_OFFSET_SECONDS = MAX_CLOCK_OFFSET.total_seconds()


@dataclass(frozen=True, slots=True)
class Batch:
    """What one poll produced.

    ``cursor`` is where the next poll resumes; it commits in the same transaction
    as ``events`` and ``dead_letters``, so a crash replays the batch rather than
    skipping or duplicating it. ``caught_up`` says the source had nothing more
    right now (``workbench sync`` stops once every connector has caught up).
    """

    events: Sequence[NewEvent] = ()
    dead_letters: Sequence[NewDeadLetter] = ()
    cursor: str | None = None
    caught_up: bool = True
    received: int = field(default=-1)
    warnings: Sequence[str] = ()
    """What this poll skipped without failing (an unreadable repository or commit):
    shown in health as the connector's current warnings."""
    unmatched: int = 0
    """Records the source's pattern did not match (stored unparsed or dead-lettered)."""

    @property
    def received_count(self) -> int:
        """Records read from the source in this batch (events + dead letters by default)."""
        return self.received if self.received >= 0 else len(self.events) + len(self.dead_letters)


@runtime_checkable
class Connector(Protocol):
    """A pull connector. ``kind`` names the implementation (``git``, ``logs`` ...)."""

    kind: ClassVar[str]
    name: str

    async def poll(self, cursor: str | None) -> Batch:
        """Read what is new since ``cursor``; raise ``TransientSourceError`` on outages."""
        ...

    def parse(self, raw: bytes) -> NewEvent:
        """Turn one raw record into an event; raise ``PoisonRecordError`` if impossible."""
        ...


class ConnectorConfig(BaseModel):
    """Fields every connector config has; each connector subclasses it.

    Unknown keys are errors (a misspelt option must not be silently ignored).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    kind: str
    enabled: bool = True
    interval_seconds: float = Field(default=30.0, gt=0)
    """Pause between the end of one poll and the start of the next (plus jitter)."""
    timeout_seconds: float = Field(default=60.0, gt=0)
    """One poll attempt taking longer than this is a ``SourceTimeoutError``."""
    retry: RetrySettings = Field(default_factory=RetrySettings)
    """Retries of one poll (``[connectors.retry]``)."""
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    """The connector's circuit breaker (``[connectors.breaker]``)."""
    clock_offset_seconds: float = Field(default=0.0, ge=-MAX_OFFSET_SECONDS,
                                        le=MAX_OFFSET_SECONDS)
    """Added to every event time this source gives, when it is read (a source whose
    clock runs 90 s slow: ``90``). The original stamp stays in the event's attributes
    (``clock.original_time``); the dedup key is the one the uncorrected event had, so
    changing the offset never stores an event twice."""
    clock_skew_warn_seconds: float = Field(default=300.0, ge=0)
    """Health warns when this source's clock looks off by more than this (events stamped
    after they arrive, or consistently late); ``0`` never warns."""
