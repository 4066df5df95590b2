"""What the span-search pull connectors (Datadog APM, New Relic) share.

Both ask a vendor's API for the spans that started in a time window, page through
the answer, decode each span record into a :class:`Span` and feed the spans to the
same :class:`TraceDetector` as OTLP and Jaeger (span errors, slow traces, critical
path; dedup keys by trace id, so one trace seen through two sources is one event
where the ids agree). A record that cannot be decoded goes to the DLQ with its JSON
and the rest of the page is unaffected.

The cursor is the end (unix ms) of the last window read completely. The newest
``delay_seconds`` are left for the next poll: spans become searchable some seconds
after they end, and a window read too early would miss them for good. When a
window holds more than ``max_pages`` pages, the poll stops at the last span read
(spans come oldest first) and says it has not caught up; the next poll resumes
there, and spans read twice change nothing (the detector ignores a span it holds,
the store a dedup key it has).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, ClassVar

import orjson
from pydantic import Field

from connectors.base import Batch, ConnectorConfig
from connectors.dlq import dead_letter
from connectors.errors import PoisonRecordError
from connectors.traces.detect import TraceDetector
from connectors.traces.model import InvalidSpanIdError, Span
from connectors.traces.rules import TraceRules
from storage.models import NewDeadLetter, NewEvent

DECODE_ERRORS = (InvalidSpanIdError, KeyError, TypeError, ValueError, OverflowError)
"""What a malformed span record raises while it is decoded (→ DLQ)."""


class SpanSearchConfig(ConnectorConfig):
    """Settings every span-search connector has."""

    initial_lookback_seconds: float = Field(default=900.0, gt=0)
    delay_seconds: float = Field(default=60.0, ge=0)
    """Spans younger than this are left for the next poll (indexing delay)."""
    max_pages: int = Field(default=20, ge=1)
    """Pages read per poll; a longer window is finished by the next polls."""
    rules: TraceRules = Field(default_factory=TraceRules)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, gt=0)


class Page:
    """One page of span records and where it ends."""

    __slots__ = ("last_ms", "records", "warning")

    def __init__(self, records: list[Any], last_ms: int | None,
                 warning: str | None = None) -> None:
        self.records = records
        self.last_ms = last_ms
        """Where a poll stopping after this page resumes (unix ms), ``None`` if unknown."""
        self.warning = warning
        """What this page may lack without failing (shown in health)."""


class SpanSearchConnector:
    """The poll loop; subclasses say how to page a window and decode one record."""

    kind: ClassVar[str] = "span_search"
    config: SpanSearchConfig

    def __init__(self, config: SpanSearchConfig, *, clock: Callable[[], float] = time.time,
                 decode: Callable[[Any], Span]) -> None:
        self.config = config
        self.name = config.name
        self._clock = clock
        self._decode = decode
        self.detector = TraceDetector(config.rules)

    def pages(self, start_ms: int, end_ms: int) -> AsyncIterator[Page]:
        raise NotImplementedError

    async def poll(self, cursor: str | None) -> Batch:
        """Spans that started in ``[cursor, now - delay]``, as detector events."""
        end = int((self._clock() - self.config.delay_seconds) * 1000)
        start = int(cursor) if cursor and cursor.isdigit() else \
            end - int(self.config.initial_lookback_seconds * 1000)
        if start >= end:
            return Batch(cursor=cursor)
        events: list[NewEvent] = []
        letters: list[NewDeadLetter] = []
        received, pages, resume = 0, 0, end
        warnings: list[str] = []
        async for page in self.pages(start, end):
            received += len(page.records)
            if page.warning:
                warnings.append(page.warning)
            events.extend(self.detector.observe(self._spans(page.records, letters)))
            pages += 1
            if pages >= self.config.max_pages and page.last_ms is not None:
                resume = max(page.last_ms, start + 1)      # more may follow: resume there
                break
        return Batch(events=events, dead_letters=letters, cursor=str(resume),
                     caught_up=resume == end, received=received, warnings=warnings)

    def _spans(self, records: list[Any], letters: list[NewDeadLetter]) -> list[Span]:
        spans: list[Span] = []
        for record in records:
            try:
                spans.append(self._decode(record))
            except DECODE_ERRORS as exc:
                letters.append(dead_letter(self.name, orjson.dumps(record), exc,
                                           source_ref=_record_id(record)))
        return spans

    def parse(self, raw: bytes) -> NewEvent:
        """Replay one dead-lettered span record (a failing span becomes its event)."""
        try:
            span = self._decode(orjson.loads(raw))
        except (*DECODE_ERRORS, orjson.JSONDecodeError) as exc:
            raise PoisonRecordError(f"not a {self.kind} span record: {exc}",
                                    payload=raw) from exc
        events = TraceDetector(self.detector.rules).observe([span])
        if not events:
            raise PoisonRecordError("the span neither failed nor is a slow root by "
                                    "threshold", payload=raw)
        return events[0]



def _record_id(record: Any) -> str | None:
    if isinstance(record, dict):
        found = record.get("id")
        return str(found)[:200] if found is not None else None
    return None


EPOCH_NS = 1_000_000_000


def iso_ns(value: str) -> int:
    """Unix nanoseconds of an ISO 8601 time with a zone (``...Z``, ``+00:00``)."""
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"time {value[:40]!r} has no zone")
    seconds = int(when.timestamp())
    return seconds * EPOCH_NS + when.microsecond * 1000


def nested(record: dict[str, Any], dotted: str) -> Any:
    """``record["a.b.c"]`` or ``record["a"]["b"]["c"]``: APIs nest dotted keys or not."""
    if dotted in record:
        return record[dotted]
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
