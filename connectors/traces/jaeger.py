"""Jaeger query API pull: ``/api/services`` and ``/api/traces`` (times in µs).

A Jaeger trace is ``{"traceID", "spans": [{"traceID", "spanID", "operationName",
"references": [{"refType", "traceID", "spanID"}], "startTime" (µs), "duration" (µs),
"tags": [{"key", "type", "value"}], "logs": [{"timestamp", "fields"}], "processID"}],
"processes": {"p1": {"serviceName", "tags"}}}``. Spans become :class:`Span` records and
go through the same detector as OTLP, so a trace seen both ways is one event.
The cursor is the end (µs) of the last polled window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import httpx
import orjson
from pydantic import Field

from connectors.base import Batch, ConnectorConfig
from connectors.dlq import dead_letter
from connectors.errors import PoisonRecordError
from connectors.http import Limits, PaginationStuckError, fetch_json
from connectors.traces.detect import TraceDetector
from connectors.traces.model import InvalidSpanIdError, Span, pad_hex_id, resource_fields
from connectors.traces.rules import TraceRules
from storage.models import NewDeadLetter, NewEvent


class JaegerConfig(ConnectorConfig):
    """``[[connectors]] kind = "jaeger"``."""

    kind: Literal["jaeger"] = "jaeger"
    url: str = Field(min_length=1)
    """Jaeger query base URL (``http://jaeger:16686``)."""
    services: list[str] = Field(default_factory=list)
    """Services to poll; empty = every service ``/api/services`` lists."""
    limit: int = Field(default=200, ge=1, le=10_000)
    initial_lookback_seconds: float = Field(default=900.0, gt=0)
    rules: TraceRules = Field(default_factory=TraceRules)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_pages: int = Field(default=10, ge=1)
    """Full pages (``limit`` traces each) followed back in time per service and poll."""


class JaegerConnector:
    """Polls recent traces of each service and reports errors and slow traces."""

    kind: ClassVar[str] = "jaeger"

    def __init__(self, config: JaegerConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.name = config.name
        self._client = client
        self._clock = clock
        rules = config.rules
        if rules.link_template is None:
            rules = rules.model_copy(
                update={"link_template": f"{config.url.rstrip('/')}/trace/{{trace_id}}"})
        self.detector = TraceDetector(rules)
        self._limits = Limits(max_bytes=config.max_response_bytes, timeout=config.timeout_seconds)

    async def poll(self, cursor: str | None) -> Batch:
        """Traces that started since the last poll, per service."""
        end = int(self._clock() * 1_000_000)
        start = int(cursor) if cursor and cursor.isdigit() else \
            end - int(self.config.initial_lookback_seconds * 1_000_000)
        events: list[NewEvent] = []
        letters: list[NewDeadLetter] = []
        received = 0
        for service in self.config.services or await self._services():
            traces = await self._traces(service, start, end)
            received += len(traces)
            for trace in traces:
                raw = orjson.dumps(trace)
                try:
                    events.extend(self.detector.observe(jaeger_spans(trace)))
                except (InvalidSpanIdError, KeyError, TypeError, ValueError) as exc:
                    letters.append(dead_letter(self.name, raw, exc, source_ref=service))
        return Batch(events=events, dead_letters=letters, cursor=str(end),
                     received=received)

    async def _services(self) -> list[str]:
        body = await fetch_json(self._client, f"{self.config.url.rstrip('/')}/api/services",
                                limits=self._limits)
        data = body.data.get("data") if isinstance(body.data, dict) else None
        return [str(s) for s in data or []]

    async def _traces(self, service: str, start: int, end: int) -> list[Any]:
        """All traces of ``[start, end]``: Jaeger returns the newest ``limit``, so a full
        page means older ones were cut -- ask again up to just before the oldest seen."""
        traces: list[Any] = []
        for _ in range(self.config.max_pages):
            body = await fetch_json(
                self._client, f"{self.config.url.rstrip('/')}/api/traces",
                params={"service": service, "start": start, "end": end,
                        "limit": self.config.limit}, limits=self._limits)
            page = body.data.get("data") if isinstance(body.data, dict) else None
            page = list(page or [])
            traces.extend(page)
            oldest = _oldest_start(page)
            if len(page) < self.config.limit or oldest is None or oldest <= start:
                break
            if oldest > end:
                raise PaginationStuckError(f"Jaeger returned traces after end={end}")
            end = oldest - 1
        return traces

    def parse(self, raw: bytes) -> NewEvent:
        """Replay one dead-lettered trace: its first event (an error or a slow root)."""
        try:
            events = TraceDetector(self.detector.rules).observe(jaeger_spans(orjson.loads(raw)))
        except (InvalidSpanIdError, KeyError, TypeError, ValueError) as exc:
            raise PoisonRecordError(f"not a Jaeger trace: {exc}", payload=raw) from exc
        if not events:
            raise PoisonRecordError("trace has no failing span and no threshold", payload=raw)
        return events[0]


def _oldest_start(traces: list[Any]) -> int | None:
    """The earliest span start (µs) among ``traces``, ignoring malformed ones."""
    starts = [span.get("startTime") for trace in traces if isinstance(trace, dict)
              for span in trace.get("spans") or [] if isinstance(span, dict)]
    numbers = [int(s) for s in starts if isinstance(s, int | float)]
    return min(numbers) if numbers else None


def jaeger_spans(trace: dict[str, Any]) -> list[Span]:
    """Spans of one Jaeger trace."""
    processes = trace.get("processes") or {}
    return [_span(raw, processes) for raw in trace["spans"]]


def _span(raw: dict[str, Any], processes: dict[str, Any]) -> Span:
    tags = {t["key"]: t.get("value") for t in raw.get("tags") or []}
    parent = next((r["spanID"] for r in raw.get("references") or []
                   if r.get("refType") == "CHILD_OF"), None)
    start_ns = int(raw["startTime"]) * 1000
    process = raw.get("process") or processes.get(str(raw.get("processID")), {})
    environment, version = resource_fields(
        {t["key"]: t.get("value") for t in process.get("tags") or []})
    span = Span(
        trace_id=pad_hex_id(str(raw["traceID"]), 16, "traceID"),
        span_id=pad_hex_id(str(raw["spanID"]), 8, "spanID"),
        parent_id=pad_hex_id(str(parent), 8, "parent spanID") if parent else None,
        service=str(process.get("serviceName") or "unknown_service"),
        name=str(raw.get("operationName", "")),
        start_ns=start_ns, end_ns=start_ns + int(raw["duration"]) * 1000,
        environment=environment, version=version,
    )
    if tags.get("error") in (True, "true") or tags.get("otel.status_code") == "ERROR":
        span.error = True
        span.status_message = str(tags.get("otel.status_description", ""))
        span.attributes = tags
        span.exceptions = [_exception(log) for log in raw.get("logs") or []
                           if _fields(log).get("event") == "exception"]
    return span


def _fields(log: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f.get("value") for f in log.get("fields") or []}


def _exception(log: dict[str, Any]) -> dict[str, str]:
    fields = _fields(log)
    return {"type": str(fields.get("exception.type", "")),
            "message": str(fields.get("exception.message", "")),
            "stacktrace": str(fields.get("exception.stacktrace", ""))[:20_000]}
