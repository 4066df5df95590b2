"""One log record -> one event (pure: a function of the bytes and their origin).

A record's origin (:class:`RecordRef`: file identity, offset, path, when it was
read) travels with it, in the DLQ payload too, so replay rebuilds the same event
with the same dedup key (``file identity @ offset``, stable across rotation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from connectors.errors import PoisonRecordError
from connectors.logs import severity as sev
from connectors.logs.formats import Parsed, json_fields, logfmt_fields, regex_fields
from connectors.logs.roles import (
    GENERIC,
    JOURNALD,
    SYSLOG_LEVEL_KEYS,
    extended_json_date,
    logger_service,
    mongodb_level,
    take_roles,
)
from storage.models import MAX_BODY, MAX_SHORT, MAX_TITLE, EventKind, NewEvent, Severity, Source
from storage.times import TimeSettings, TimestampError, read_time
from storage.trusted import trusted_event

ENVELOPE_MAGIC = b"wblog1\n"

_TEXT_CONTEXT = re.compile(
    r"\b(?P<key>trace[_.-]?id|span[_.-]?id|request[_.-]?id|req[_.-]?id)[=:]\s*\"?(?P<value>[\w-]+)",
    re.IGNORECASE,
)


class RecordRef(NamedTuple):
    """Where a record came from (a tuple: built once per record on the hot path)."""

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
    time: TimeSettings = TimeSettings()
    pattern: re.Pattern[str] | None = None
    service: str | None = None
    environment: str | None = None
    host: str | None = None
    tags: tuple[tuple[str, re.Pattern[str]], ...] = ()
    future_tolerance: timedelta = timedelta(days=1)
    on_unmatched: str = "store"


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
    return regex_fields(data, ctx.pattern, find_level=ctx.format == "plain")


def parse_record(data: bytes, ref: RecordRef, ctx: LogContext) -> NewEvent:
    """One record -> event; :class:`PoisonRecordError` says what is wrong with it."""
    parsed = extract(data, ctx)
    fields = parsed.fields
    roles, attrs = _roles_and_origin(parsed, data, ref, ctx)
    occurred = _occurred(roles.get("ts"), ref, ctx, attrs, data)
    message = _text(_value(roles, "message"))
    stack = _text(_value(roles, "stack"))
    continuation = parsed.continuation.rstrip("\n")
    body = "\n".join(p for p in (message, continuation, stack) if p) if continuation or stack \
        else message
    rank = _level_rank(roles, attrs)
    context = _context(roles, body, attrs, textual=ctx.format not in ("jsonl", "journald"))
    tags, rank = _signals_and_tags(body, ctx, attrs, rank)
    if parsed.invalid_utf8:
        attrs["invalid_utf8"] = True
    if fields:
        attrs["fields"] = fields
    title = message.strip().split("\n", 1)[0][:MAX_TITLE] or _fallback_title(data)
    try:
        return trusted_event(
            source=Source.LOGS, kind=EventKind.LOG, severity=sev.SEVERITIES[rank],
            occurred_at=occurred, title=title, body="" if body == title else body[:MAX_BODY],
            service=_short(context["service"]) or ctx.service, environment=ctx.environment,
            host=_short(context["host"]) or ctx.host, trace_id=_short(context["trace_id"]),
            span_id=_short(context["span_id"]), attributes=attrs, tags=tags,
            dedup_key=ref.dedup_key,
        )
    except ValueError as exc:  # pydantic: oversized attributes, bad values
        raise PoisonRecordError(f"record does not make a valid event: {exc}"[:4000],
                                payload=data, error_class="InvalidEvent") from exc


def _roles_and_origin(parsed: Parsed, data: bytes, ref: RecordRef,
                      ctx: LogContext) -> tuple[dict[str, tuple[str, Any]], dict[str, Any]]:
    """The record's roles, and attributes saying where it came from and if it was parsed."""
    attrs: dict[str, Any] = {"log": {"path": ref.path, "offset": ref.offset,
                                     "file": ref.file_id, "format": ctx.format}}
    if parsed.unmatched:
        if ctx.on_unmatched == "dlq":
            raise PoisonRecordError("line does not match the source's pattern", payload=data,
                                    error_class="Unmatched")
        attrs["unparsed"] = True
    named = logger_service(parsed.fields)
    roles = take_roles(parsed.fields, JOURNALD if ctx.format == "journald" else GENERIC)
    if named is not None and "service" not in roles:
        roles["service"] = (named[0], parsed.fields.pop(named[0]))
    if "level" not in roles and (mongo := mongodb_level(roles, parsed.fields)) is not None:
        roles["level"] = mongo
    return roles, attrs


def _value(roles: dict[str, tuple[str, Any]], role: str) -> Any:
    found = roles.get(role)
    return None if found is None else found[1]


def _fallback_title(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().split("\n", 1)[0]
    return text[:MAX_TITLE] or "(empty log record)"


def _occurred(found: tuple[str, Any] | None, ref: RecordRef, ctx: LogContext,
              attrs: dict[str, Any], data: bytes) -> datetime:
    if found is None:
        attrs["timestamp_missing"] = True
        return ref.observed_at.astimezone(UTC)
    try:
        reading = read_time(extended_json_date(found[1]), ctx.time, ref.observed_at)
    except TimestampError as exc:
        raise PoisonRecordError(f"{found[0]}: {exc}", payload=data,
                                error_class=exc.error_class) from exc
    when = reading.utc
    if when > ref.observed_at + ctx.future_tolerance:
        raise PoisonRecordError(
            f"timestamp {when.isoformat()} is more than {ctx.future_tolerance} after it was "
            f"read ({ref.observed_at.isoformat()})", payload=data, error_class="FutureTimestamp")
    attrs["timestamp_zone"] = reading.zone
    if reading.assumed:
        attrs["timestamp_zone_assumed"] = reading.zone
    return when


def _level_rank(roles: dict[str, tuple[str, Any]], attrs: dict[str, Any]) -> int:
    """Severity rank from the level field and an HTTP status field (the higher wins)."""
    rank = 0
    level = roles.get("level")
    if level is not None:
        found = sev.level_severity(level[1], syslog=level[0] in SYSLOG_LEVEL_KEYS)
        rank = found.rank if found is not None else 0
        attrs["level"] = _text(level[1])[:64]
    status = roles.get("status")
    if status is not None:
        attrs["http_status"] = status[1]
        if sev.status_severity(status[1]) is not None:
            rank = max(rank, Severity.HIGH.rank)
    return rank


def _context(roles: dict[str, tuple[str, Any]], body: str, attrs: dict[str, Any], *,
             textual: bool) -> dict[str, Any]:
    context = {role: roles.get(role, _ABSENT)[1] for role in _CONTEXT_ROLES}
    if textual and (context["trace_id"] is None or context["request_id"] is None) \
            and _may_name_ids(body):
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


_ABSENT = (None, None)
_CONTEXT_ROLES = ("trace_id", "span_id", "request_id", "service", "host", "error_type")


def _may_name_ids(text: str) -> bool:
    return "id=" in text or "id:" in text or "ID=" in text or "Id=" in text or "ID:" in text \
        or "Id:" in text


def _signals_and_tags(body: str, ctx: LogContext, attrs: dict[str, Any],
                      rank: int) -> tuple[tuple[str, ...], int]:
    found = sev.content_signals(body)
    tags = [tag for tag, rx in ctx.tags if rx.search(body)] if ctx.tags else []
    if not found:
        return tuple(tags), rank
    attrs["signals"] = [tag for tag, _ in found]
    rank = max(rank, *(s.rank for _, s in found))
    return tuple(dict.fromkeys([*attrs["signals"], *tags])), rank
