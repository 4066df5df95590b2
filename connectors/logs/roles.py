"""Which record fields play which role (timestamp, level, message, trace id ...).

Names follow the common loggers and the OpenTelemetry conventions (``trace_id``,
``span_id``, ``service.name``). A record is scanned once: for each role the
earliest-listed alias present wins; other aliases stay in the record's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ROLES: dict[str, tuple[str, ...]] = {
    "ts": ("timestamp", "time", "ts", "@timestamp", "t", "datetime", "date", "asctime",
           "timeUnixNano", "Timestamp"),
    "level": ("level", "lvl", "severity", "loglevel", "log.level", "levelname", "level_name",
              "severity_text", "SeverityText", "@level"),
    "message": ("message", "msg", "MESSAGE", "@message", "log", "text", "body", "Body"),
    "stack": ("stack", "stack_trace", "stacktrace", "exc_info", "traceback", "exception",
              "error.stack", "error.stack_trace"),
    "trace_id": ("trace_id", "traceId", "trace.id", "traceid", "otelTraceID", "dd.trace_id",
                 "TraceId"),
    "span_id": ("span_id", "spanId", "span.id", "spanid", "otelSpanID", "dd.span_id", "SpanId"),
    "request_id": ("request_id", "requestId", "req_id", "reqId", "request.id", "x_request_id",
                   "http.request.id", "correlation_id"),
    "service": ("service", "service.name", "service_name", "serviceName", "app", "application",
                "SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT"),
    "host": ("host", "hostname", "host.name", "_HOSTNAME"),
    "error_type": ("error.type", "error_type", "exc_type", "exception.type", "err.type",
                   "errorType", "error.kind"),
    "status": ("status", "status_code", "statusCode", "http.status_code",
               "http.response.status_code", "http_status"),
}
# journald's own fields come first in that format; PRIORITY is a syslog level.
JOURNALD_FIRST = {"ts": ("__REALTIME_TIMESTAMP",), "level": ("PRIORITY",)}
SYSLOG_LEVEL_KEYS = frozenset({"PRIORITY"})

Table = dict[str, tuple[str, int]]


def _table(first: Mapping[str, tuple[str, ...]]) -> Table:
    table: Table = {}
    for role, names in ROLES.items():
        for rank, name in enumerate((*first.get(role, ()), *names)):
            table.setdefault(name, (role, rank))
    return table


GENERIC: Table = _table({})
JOURNALD: Table = _table(JOURNALD_FIRST)


def take_roles(fields: dict[str, Any], table: Table) -> dict[str, tuple[str, Any]]:
    """Remove the winning alias of each role from ``fields``: ``role -> (key, value)``."""
    best: dict[str, tuple[int, str]] = {}
    for key in fields:
        hit = table.get(key)
        if hit is not None:
            role, rank = hit
            current = best.get(role)
            if current is None or rank < current[0]:
                best[role] = (rank, key)
    return {role: (key, fields.pop(key)) for role, (_, key) in best.items()}


def mongodb_level(roles: dict[str, tuple[str, Any]],
                  fields: dict[str, Any]) -> tuple[str, Any] | None:
    """MongoDB (4.4 and later) logs ``{"t": {"$date": ...}, "s": "W", "c": "STORAGE", ...}``:
    its level is the one-letter ``s`` (F, E, W, I, D1..D5), a name too short to take
    as a level anywhere else, so it is taken only beside a ``t`` in Extended JSON."""
    ts = roles.get("ts")
    if ts is None or ts[0] != "t" or not isinstance(ts[1], dict) or "$date" not in ts[1]:
        return None
    level = fields.get("s")
    return ("s", fields.pop("s")) if isinstance(level, str) else None


def extended_json_date(value: Any) -> Any:
    """A date in MongoDB Extended JSON (relaxed ``{"$date": "ISO"}`` or canonical
    ``{"$date": {"$numberLong": "ms"}}``) as the plain value it wraps: an ISO string,
    or epoch milliseconds. Anything else is returned unchanged."""
    if not (isinstance(value, dict) and len(value) == 1 and "$date" in value):
        return value
    inner = value["$date"]
    if isinstance(inner, dict) and set(inner) == {"$numberLong"}:
        number = inner["$numberLong"]
        return int(number) if isinstance(number, str) and number.lstrip("-").isdigit() \
            else value
    return inner


def logger_service(fields: dict[str, Any]) -> tuple[str, Any] | None:
    """Bunyan (and pino with a name) put the service in ``name``, beside ``hostname``
    and ``pid``; elsewhere ``name`` means too many things to be taken as the service."""
    name = fields.get("name")
    if isinstance(name, str) and "hostname" in fields and "pid" in fields:
        return "name", name
    return None
