"""Datadog APM pull: the spans search API (``POST /api/v2/spans/events/search``).

Each poll asks for the spans that started in its window, oldest first, following
``meta.page.after`` cursors (a cursor seen twice is :class:`PaginationStuckError`).
A span record is ``{"id", "type": "spans", "attributes": {"trace_id", "span_id",
"parent_id" (decimal strings, ``"0"`` for a root), "service", "resource_name", "env",
"start_timestamp", "end_timestamp", "custom": {"duration" (ns), "version",
"error": {"type", "message", "stack"}, "_dd": {"p": {"tid"}}, ...}, "tags": [...]}}``.

Ids: Datadog keeps the low 64 bits of a trace id in ``trace_id`` (decimal) and, for
a 128-bit W3C id, the high 64 bits in the ``_dd.p.tid`` tag (hex). Both are joined
into the 32-hex id OTLP and Jaeger use, so a trace seen through Datadog and through
OTLP has one dedup key; a 64-bit-only id is left-padded with zeros, as Jaeger's are.

Rate limits: a 429 answer carries ``X-RateLimit-Reset`` (seconds to wait), which the
shared HTTP guard reads when there is no ``Retry-After``. Keys and site are as for the
Datadog metrics connector (``api_key``/``app_key`` secret references, ``site``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field

from connectors.datadog_site import DatadogSite, datadog_headers
from connectors.http import Limits, check_advances, fetch_json
from connectors.traces.model import Span, check_hex_id, resource_fields
from connectors.traces.pull import Page, SpanSearchConfig, SpanSearchConnector, iso_ns, nested


class DatadogTracesConfig(DatadogSite, SpanSearchConfig):
    """``[[connectors]] kind = "datadog_traces"``."""

    kind: Literal["datadog_traces"] = "datadog_traces"
    query: str = Field(default="*", min_length=1, max_length=4000)
    """Span search query (``service:checkout env:prod``); ``*`` is every indexed span."""
    page_limit: int = Field(default=1000, ge=1, le=1000)


class DatadogTracesConnector(SpanSearchConnector):
    """Polls Datadog's span search and reports span errors and slow traces."""

    kind: ClassVar[str] = "datadog_traces"
    config: DatadogTracesConfig

    def __init__(self, config: DatadogTracesConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(config, clock=clock, decode=datadog_span)
        self._client = client
        self._limits = Limits(max_bytes=config.max_response_bytes,
                              timeout=config.timeout_seconds)

    async def pages(self, start_ms: int, end_ms: int) -> AsyncIterator[Page]:
        headers = await datadog_headers(self.config)
        url = f"{self.config.url.rstrip('/')}/api/v2/spans/events/search"
        seen: set[str] = set()
        after: str | None = None
        while True:
            body = await fetch_json(self._client, url, method="POST", headers=headers,
                                    json=self._request(start_ms, end_ms, after),
                                    limits=self._limits)
            data = body.data if isinstance(body.data, dict) else {}
            records = data.get("data")
            if not isinstance(records, list):
                records = []
            yield Page(records, _last_start_ms(records))
            after = nested(data, "meta.page.after")
            if not records or not isinstance(after, str) or not after:
                return
            check_advances(seen, after)

    def _request(self, start_ms: int, end_ms: int, after: str | None) -> dict[str, Any]:
        page: dict[str, Any] = {"limit": self.config.page_limit}
        if after is not None:
            page["cursor"] = after
        return {"data": {"type": "search_request", "attributes": {
            "filter": {"from": str(start_ms), "to": str(end_ms), "query": self.config.query},
            "options": {"timezone": "GMT"}, "page": page, "sort": "timestamp"}}}



def datadog_span(record: dict[str, Any]) -> Span:
    """One span record of the spans API as a :class:`Span`."""
    attributes = record["attributes"]
    custom = attributes.get("custom") or {}
    start_ns = iso_ns(str(attributes["start_timestamp"]))
    duration = custom.get("duration")
    if isinstance(duration, int | float) and duration >= 0:
        end_ns = start_ns + int(duration)
    else:
        end_ns = iso_ns(str(attributes["end_timestamp"]))
    parent = str(attributes.get("parent_id") or "0")
    environment, version = resource_fields({"env": attributes.get("env"),
                                            "service.version": custom.get("version")})
    span = Span(
        trace_id=trace_id_hex(str(attributes["trace_id"]), _high_bits(custom, attributes)),
        span_id=check_hex_id(_hex64(str(attributes["span_id"])), 8, "span_id"),
        parent_id=None if parent == "0" else check_hex_id(_hex64(parent), 8, "parent_id"),
        service=str(attributes.get("service") or "unknown_service")[:256],
        name=str(attributes.get("resource_name") or custom.get("operation_name") or ""),
        start_ns=start_ns, end_ns=end_ns, environment=environment, version=version)
    error = custom.get("error")
    if isinstance(error, dict) or attributes.get("status") == "error":
        details = error if isinstance(error, dict) else {}
        span.error = True
        span.status_message = str(details.get("message") or "")[:2000]
        span.attributes = {key: value for key, value in custom.items() if key != "error"}
        span.exceptions = [{"type": str(details.get("type") or ""),
                            "message": str(details.get("message") or ""),
                            "stacktrace": str(details.get("stack") or "")[:20_000]}]
    return span


def trace_id_hex(low_decimal: str, high_hex: str | None) -> str:
    """The 32-hex trace id from Datadog's decimal low 64 bits and ``_dd.p.tid``."""
    high = (high_hex or "").lower().rjust(16, "0")
    return check_hex_id(high + _hex64(low_decimal), 16, "trace_id")


def _hex64(decimal: str) -> str:
    value = int(decimal, 10)
    if not 0 <= value < 1 << 64:
        raise ValueError(f"id {decimal[:40]!r} is not an unsigned 64-bit number")
    return format(value, "016x")


def _high_bits(custom: dict[str, Any], attributes: dict[str, Any]) -> str | None:
    found = nested(custom, "_dd.p.tid")
    if isinstance(found, str) and found:
        return found
    for tag in attributes.get("tags") or []:
        if isinstance(tag, str) and tag.startswith("_dd.p.tid:"):
            return tag.partition(":")[2]
    return None


def _last_start_ms(records: list[Any]) -> int | None:
    for record in reversed(records):
        try:
            return iso_ns(str(record["attributes"]["start_timestamp"])) // 1_000_000
        except (KeyError, TypeError, ValueError):
            continue
    return None
