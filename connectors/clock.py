"""Per-source clock offsets, applied where a connector's records become events.

A source whose clock is off (a host with a dead NTP daemon, a device that never had
one) stamps its events wrongly by a constant. ``clock_offset_seconds`` in its
``[[connectors]]`` table corrects every time it gives, in :func:`corrected` -- the one
place, used by polling and by DLQ replay alike (both go through the connector's
``poll``/``parse``, which :func:`with_offset` wraps). The original stamp and the offset
stay in the attributes, so nothing read is lost and a later reader can tell.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar

from connectors.base import Batch, Connector
from connectors.errors import PoisonRecordError
from storage.models import NewDeadLetter, NewEvent
from storage.times import TimestampError, shifted

ORIGINAL = "clock.original_time"
"""Attribute: the time the source gave, before the offset (ISO 8601, UTC)."""
OFFSET = "clock.offset_seconds"
"""Attribute: the offset that was added to it."""


def corrected(event: NewEvent, offset: timedelta) -> NewEvent:
    """``event`` with its time corrected by ``offset`` (:class:`TimestampError` if that
    leaves the calendar). The dedup key is pinned first: it may hash the time, and the
    same record must stay one event whatever the offset is set to."""
    if not offset:
        return event
    key = event.effective_dedup_key()
    attributes = {**event.attributes, ORIGINAL: event.occurred_at.isoformat(),
                  OFFSET: offset.total_seconds()}
    return event.model_copy(update={"occurred_at": shifted(event.occurred_at, offset),
                                    "attributes": attributes, "dedup_key": key})


class ClockCorrected:
    """A connector whose events' times are corrected by a fixed offset."""

    kind: ClassVar[str] = "clock-corrected"

    def __init__(self, inner: Connector, offset: timedelta) -> None:
        self.inner = inner
        self.offset = offset
        self.name = inner.name
        self.kind = inner.kind  # type: ignore[misc]  # the wrapped connector's kind

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)  # aclose, settings ... of the connector

    async def poll(self, cursor: str | None) -> Batch:
        """The inner poll, each event corrected; one that leaves the calendar is a dead
        letter (its payload the event's JSON), never a failed poll."""
        batch = await self.inner.poll(cursor)
        events: list[NewEvent] = []
        letters: list[NewDeadLetter] = list(batch.dead_letters)
        for event in batch.events:
            try:
                events.append(corrected(event, self.offset))
            except TimestampError as exc:
                letters.append(NewDeadLetter(
                    connector=self.name, payload=event.model_dump_json().encode(),
                    error_class=exc.error_class, message=str(exc)[:8_000]))
        return replace(batch, events=events, dead_letters=letters,
                       received=batch.received_count)

    def parse(self, raw: bytes) -> NewEvent:
        """The inner parse, corrected (what DLQ replay runs)."""
        try:
            return corrected(self.inner.parse(raw), self.offset)
        except TimestampError as exc:
            raise PoisonRecordError(str(exc), payload=raw, error_class=exc.error_class) from exc


def with_offset(connector: Connector, offset_seconds: float) -> Connector:
    """``connector`` itself without an offset, else wrapped to correct its times."""
    if not offset_seconds:
        return connector
    return ClockCorrected(connector, timedelta(seconds=offset_seconds))
