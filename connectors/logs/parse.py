"""One log record -> one event (pure: a function of the bytes and their origin).

A record's origin (:class:`RecordRef`: file identity, offset, path, when it was
read) travels with it, in the DLQ payload too, so replay rebuilds the same event
with the same dedup key (``file identity @ offset``, stable across rotation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import orjson

from connectors.errors import PoisonRecordError
from connectors.logs import severity as sev
from connectors.logs.formats import Parsed, json_fields, logfmt_fields, regex_fields
from connectors.logs.timestamps import TimestampError, parse_timestamp
from storage.models import MAX_BODY, MAX_SHORT, MAX_TITLE, EventKind, NewEvent, Severity, Source

ENVELOPE_MAGIC = b"wblog1\n"

TS_KEYS = ("timestamp", "time", "ts", "@timestamp", "t", "datetime", "date", "asctime",
           "timeUnixNano", "Timestamp")
LEVEL_KEYS = ("level", "lvl", "severity", "loglevel", "log.level", "levelname", "level_name",
              "severity_text", "SeverityText", "@level")
MESSAGE_KEYS = ("message", "msg", "MESSAGE", "@message", "log", "text", "body", "Body")
TRACE_KEYS = ("trace_id", "traceId", "trace.id", "traceid", "otelTraceID", "dd.trace_id",
              "TraceId")
SPAN_KEYS = ("span_id", "spanId", "span.id", "spanid", "otelSpanID", "dd.span_id", "SpanId")
REQUEST_KEYS = ("request_id", "requestId", "req_id", "reqId", "request.id", "x_request_id",
                "http.request.id", "correlation_id")
SERVICE_KEYS = ("service", "service.name", "service_name", "serviceName", "app",
                "application", "SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT")
HOST_KEYS = ("host", "hostname", "host.name", "_HOSTNAME")
ERROR_TYPE_KEYS = ("error.type", "error_type", "exc_type", "exception.type", "err.type",
                   "errorType", "error.kind")
STATUS_KEYS = ("status", "status_code", "statusCode", "http.status_code",
               "http.response.status_code", "http_status")
STACK_KEYS = ("stack", "stack_trace", "stacktrace", "exc_info", "traceback", "exception",
              "error.stack", "error.stack_trace")
_TEXT_CONTEXT = re.compile(
    r"\b(?P<key>trace[_.-]?id|span[_.-]?id|request[_.-]?id|req[_.-]?id)[=:]\s*\"?(?P<value>[\w-]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a record came from."""

    file_id: str
    offset: int
    path: str
    observed_at: datetime

    @property
    def dedup_key(self) -> str:
        """``file identity @ byte offset``: the same record read twice is one event."""
        return f"{self.file_id}@{self.offset}"


@dataclass(frozen=True, slots=True)
class LogContext:
    """The parts of the connector's config that parsing depends on."""

    format: str
    zone: tzinfo
    zone_name: str
    pattern: re.Pattern[str] | None = None
    service: str | None = None
    environment: str | None = None
    host: str | None = None
    tags: tuple[tuple[str, re.Pattern[str]], ...] = ()
    future_tolerance: timedelta = timedelta(days=1)


def encode_envelope(data: bytes, ref: RecordRef, *, truncated_from: int | None = None) -> bytes:
    """The DLQ payload: the record's origin as one JSON line, then its bytes."""
    head: dict[str, Any] = {"file": ref.file_id, "offset": ref.offset, "path": ref.path,
                            "observed": ref.observed_at.isoformat()}
    if truncated_from is not None:
        head["truncated_from"] = truncated_from
    return ENVELOPE_MAGIC + orjson.dumps(head) + b"\n" + data


def decode_envelope(raw: bytes) -> tuple[bytes, RecordRef, int | None]:
    """Inverse of :func:`encode_envelope`."""
    if not raw.startswith(ENVELOPE_MAGIC):
        raise PoisonRecordError("not a log connector record", payload=raw,
                                error_class="NotALogRecord")
    head, _, data = raw[len(ENVELOPE_MAGIC):].partition(b"\n")
    try:
        meta = orjson.loads(head)
        ref = RecordRef(str(meta["file"]), int(meta["offset"]), str(meta["path"]),
                        datetime.fromisoformat(meta["observed"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PoisonRecordError("unreadable log record envelope", payload=raw,
                                error_class="NotALogRecord") from exc
    return data, ref, meta.get("truncated_from")


def _take(fields: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in fields:
            return fields.pop(key)
    return None


def _short(value: Any) -> str | None:
    if isinstance(value, str):
        return value[:MAX_SHORT] or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def extract(data: bytes, ctx: LogContext) -> Parsed:
    """Fields of one record in the configured format."""
    if ctx.format in ("jsonl", "journald"):
        return json_fields(data)
    if ctx.format == "logfmt":
        return logfmt_fields(data)
    assert ctx.pattern is not None
    return regex_fields(data, ctx.pattern)


def parse_record(data: bytes, ref: RecordRef, ctx: LogContext) -> NewEvent:
    """One record -> event; :class:`PoisonRecordError` says what is wrong with it."""
    parsed = extract(data, ctx)
    fields = parsed.fields
    attrs: dict[str, Any] = {"log": {"path": ref.path, "offset": ref.offset,
                                     "file": ref.file_id, "format": ctx.format}}
    occurred = _occurred(fields, ref, ctx, attrs, data)
    message = _text(_take(fields, MESSAGE_KEYS))
    stack = _text(_take(fields, STACK_KEYS))
    body = "\n".join(p for p in (message, parsed.continuation.rstrip("\n"), stack) if p)
    severity = _severity(fields, ctx, attrs)
    context = _context(fields, body, attrs)
    tags = _signals_and_tags(body, ctx, attrs, severity)
    if parsed.invalid_utf8:
        attrs["invalid_utf8"] = True
    if fields:
        attrs["fields"] = fields
    title = message.strip().split("\n", 1)[0][:MAX_TITLE] or _fallback_title(data)
    try:
        return NewEvent(
            source=Source.LOGS, kind=EventKind.LOG, severity=tags[1], occurred_at=occurred,
            title=title, body="" if body == title else body[:MAX_BODY],
            service=_short(context.get("service")) or ctx.service,
            environment=ctx.environment, host=_short(context.get("host")) or ctx.host,
            trace_id=_short(context.get("trace_id")), span_id=_short(context.get("span_id")),
            attributes=attrs, tags=tags[0], dedup_key=ref.dedup_key,
        )
    except ValueError as exc:  # pydantic: oversized attributes, bad values
        raise PoisonRecordError(f"record does not make a valid event: {exc}"[:4000],
                                payload=data, error_class="InvalidEvent") from exc


def _fallback_title(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().split("\n", 1)[0]
    return text[:MAX_TITLE] or "(empty log record)"


def _occurred(fields: dict[str, Any], ref: RecordRef, ctx: LogContext, attrs: dict[str, Any],
              data: bytes) -> datetime:
    raw = fields.pop("__REALTIME_TIMESTAMP", None) if ctx.format == "journald" else None
    if raw is None:
        raw = _take(fields, TS_KEYS)
    if raw is None:
        attrs["timestamp_missing"] = True
        return ref.observed_at.astimezone(UTC)
    try:
        when, assumed = parse_timestamp(raw, ctx.zone, ref.observed_at)
    except TimestampError as exc:
        raise PoisonRecordError(str(exc), payload=data, error_class="BadTimestamp") from exc
    if when > ref.observed_at + ctx.future_tolerance:
        raise PoisonRecordError(
            f"timestamp {when.isoformat()} is more than {ctx.future_tolerance} after it was "
            f"read ({ref.observed_at.isoformat()})", payload=data, error_class="FutureTimestamp")
    if assumed:
        attrs["timestamp_zone_assumed"] = ctx.zone_name
    return when


def _severity(fields: dict[str, Any], ctx: LogContext, attrs: dict[str, Any]) -> Severity:
    level = fields.pop("PRIORITY", None) if ctx.format == "journald" else None
    found = sev.level_severity(level, syslog=True) if level is not None else None
    if level is None:
        level = _take(fields, LEVEL_KEYS)
        found = sev.level_severity(level) if level is not None else None
    if level is not None:
        attrs["level"] = _text(level)[:64]
    status = _take(fields, STATUS_KEYS)
    if status is not None:
        attrs["http_status"] = status
    by_status = sev.status_severity(status)
    ranks = [s.rank for s in (found, by_status) if s is not None]
    return Severity.from_rank(max(ranks)) if ranks else Severity.INFO


def _context(fields: dict[str, Any], body: str, attrs: dict[str, Any]) -> dict[str, Any]:
    context = {
        "trace_id": _take(fields, TRACE_KEYS), "span_id": _take(fields, SPAN_KEYS),
        "request_id": _take(fields, REQUEST_KEYS), "service": _take(fields, SERVICE_KEYS),
        "host": _take(fields, HOST_KEYS), "error_type": _take(fields, ERROR_TYPE_KEYS),
    }
    parent = fields.get("traceparent")
    if isinstance(parent, str) and parent.count("-") == 3 and context["trace_id"] is None:
        _, context["trace_id"], context["span_id"], _ = parent.split("-")
    if (context["trace_id"] is None or context["request_id"] is None) and _may_name_ids(body):
        for match in _TEXT_CONTEXT.finditer(body):
            key = match["key"].lower()[:3]
            role = {"tra": "trace_id", "spa": "span_id"}.get(key, "request_id")
            context[role] = context[role] or match["value"]
    if context["error_type"] is None and sev.may_name_error(body):
        context["error_type"] = sev.error_type_from_text(body)
    for key in ("request_id", "error_type"):
        if context[key] is not None:
            attrs[key] = _short(context[key])
    return context


def _may_name_ids(text: str) -> bool:
    return "id=" in text or "id:" in text or "ID=" in text or "Id=" in text or "ID:" in text \
        or "Id:" in text


def _signals_and_tags(body: str, ctx: LogContext, attrs: dict[str, Any],
                      level: Severity) -> tuple[tuple[str, ...], Severity]:
    found = sev.content_signals(body)
    tags = [tag for tag, _ in found]
    tags += [tag for tag, rx in ctx.tags if rx.search(body)]
    if found:
        attrs["signals"] = [tag for tag, _ in found]
    rank = max([level.rank, *(s.rank for _, s in found)])
    return tuple(dict.fromkeys(tags)), Severity.from_rank(rank)
