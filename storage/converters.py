"""Row <-> domain model conversion. The only place that knows both shapes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import type_coerce
from sqlalchemy.types import NullType

from storage.models import (
    DeadLetter,
    DeadLetterStatus,
    Event,
    EventKind,
    EventLink,
    Investigation,
    InvestigationFields,
    InvestigationStatus,
    NewEvent,
    Severity,
    Source,
)
from storage.tables import DeadLetterRow, EventRow, InvestigationRow
from storage.tenant_context import tenant_id
from storage.trusted import builder
from storage.types import UTCDateTime

TENANT = "tenant_id"
"""Not part of any model: who owns a row is the caller's context, not the row's content."""
EVENT_COLUMNS = tuple(c for c in EventRow.__table__.columns if c.key != TENANT)


EVENT_NAMES = tuple(c.key for c in EVENT_COLUMNS)
# The same columns with times left raw: no per-value result processor in
# SQLAlchemy; event_from_tuple converts them (one C call each).
EVENT_READ_COLUMNS = tuple(
    type_coerce(c, NullType()).label(c.key) if isinstance(c.type, UTCDateTime) else c
    for c in EVENT_COLUMNS
)
_fromisoformat = datetime.fromisoformat
# event_from_tuple unpacks rows positionally: fail at import if the table changes.
assert EVENT_NAMES == (
    "id", "source", "dedup_key", "kind", "severity", "occurred_at", "received_at", "service",
    "environment", "host", "title", "body", "trace_id", "span_id", "commit_sha", "url",
    "attributes", "tags"), EVENT_NAMES
_SOURCES = {s.value: s for s in Source}
_KINDS = {k.value: k for k in EventKind}
_SEVERITIES = {s.rank: s for s in Severity}
_EVENT_FIELDS = set(Event.model_fields)
_FIELD_ORDER = tuple(Event.model_fields)
assert set(_FIELD_ORDER) == set(EVENT_NAMES), _FIELD_ORDER
_new_event = builder(Event)


_SOURCE_TEXT = {s: s.value for s in Source}
_KIND_TEXT = {k: k.value for k in EventKind}
_RANK = {s: s.rank for s in Severity}


def sqlite_time(value: datetime) -> str:
    """A tz-aware time as SQLite stores it: naive-UTC ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime for a UTC column: {value!r}")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def event_row(event: NewEvent, received_at: Any, *, native_times: bool = False,
              tenant: int | None = None) -> tuple[Any, ...]:
    """The event row shape, written once: insert values for one event in
    :data:`INSERT_NAMES` order.

    Every writer of event rows derives from this function (SQLite bulk insert,
    PostgreSQL Core insert, story rewrites, the benchmarks' raw baselines), so a
    column added to the table fails ``tests/storage/test_row_shape.py`` here and
    nowhere else. By default the times are SQLite's stored text and ``received_at``
    must already be that text (the bulk-ingest hot path hands a plain tuple straight
    to ``executemany``, no per-row parameter processing); ``native_times`` keeps
    datetimes for SQLAlchemy's column types to bind. ``tenant``: the row's tenant, by
    default the current one (a batch looks it up once and passes it).
    """
    attributes = event.attributes
    tags = event.tags
    return (
        _SOURCE_TEXT[event.source], event.effective_dedup_key(), _KIND_TEXT[event.kind],
        _RANK[event.severity],
        event.occurred_at if native_times else sqlite_time(event.occurred_at), received_at,
        event.service, event.environment, event.host, event.title, event.body,
        event.trace_id, event.span_id, event.commit_sha, event.url,
        event.attributes_json() if attributes else "{}",
        orjson.dumps(list(tags)).decode() if tags else "[]",
        tenant_id() if tenant is None else tenant,
    )


INSERT_NAMES = (*EVENT_NAMES[1:], TENANT)
"""The inserted columns: the event's, then its tenant (the current one)."""


def event_params(event: NewEvent, received_at: Any) -> dict[str, Any]:
    """:func:`event_row` as named parameters, times as datetimes (SQLAlchemy Core:
    the PostgreSQL insert and in-place rewrites)."""
    return dict(zip(INSERT_NAMES, event_row(event, received_at, native_times=True),
                    strict=True))


def event_from_row(row: Mapping[Any, Any]) -> Event:
    """An :class:`Event` from a result row mapping of the event table."""
    return _event({name: row[name] for name in _FIELD_ORDER})


def event_from_tuple(row: Sequence[Any]) -> Event:
    """An :class:`Event` from a row of :data:`EVENT_READ_COLUMNS` (the hot read path).

    Times arrive raw (SQLite text or driver datetimes) and are made UTC here.
    """
    (event_id, source, dedup_key, kind, severity, occurred_at, received_at, service,
     environment, host, title, body, trace_id, span_id, commit_sha, url, attributes,
     tags) = row
    if occurred_at.__class__ is str:  # SQLite's naive-UTC text, parsed inline
        occurred_at = _fromisoformat(occurred_at + "+00:00")
        # A batch shares one arrival time: most rows of a page hit this cache.
        arrived = _ARRIVALS.get(received_at)
        if arrived is None:
            if len(_ARRIVALS) >= 4096:
                _ARRIVALS.clear()
            arrived = _ARRIVALS[received_at] = _fromisoformat(received_at + "+00:00")
        received_at = arrived
    else:
        occurred_at, received_at = utc_time(occurred_at), utc_time(received_at)
    # The row was validated on the way in, so skip validation, and even
    # model_construct's per-field bookkeeping: every field is present. This runs
    # for each row of every page, so it is a large share of a query's cost.
    # In the model's field order, as validation leaves it (serialisation follows it).
    return _new_event({
        "source": _SOURCES[source], "kind": _KINDS[kind], "severity": _SEVERITIES[severity],
        "occurred_at": occurred_at, "title": title, "body": body, "service": service,
        "environment": environment, "host": host, "trace_id": trace_id, "span_id": span_id,
        "commit_sha": commit_sha, "url": url,
        "attributes": {} if attributes == "{}" else _loads(attributes),
        "tags": () if tags == "[]" else tuple(_loads(tags)),
        "dedup_key": dedup_key, "id": event_id, "received_at": received_at,
    }, _EVENT_FIELDS)


_ARRIVALS: dict[str, datetime] = {}
"""SQLite ``received_at`` text -> its datetime (immutable, so shared), bounded."""
_loads = orjson.loads


_SEVERITY_TEXT = {s.rank: s.value for s in Severity}


def import_values(row: Sequence[Any]) -> dict[str, Any]:
    """An event as the import format carries it, from a row of :data:`EVENT_READ_COLUMNS`:
    the fields of :func:`event_from_tuple`'s event, in the model's order, less ``id`` and
    ``received_at``, with enums as their text (JSON identical to the event's; a test
    checks it). Exports of many events skip building a model per row."""
    values = dict(zip(EVENT_NAMES, row, strict=True))
    values["severity"] = _SEVERITY_TEXT[values["severity"]]
    values["occurred_at"] = utc_time(values["occurred_at"])
    attributes, tags = values["attributes"], values["tags"]
    values["attributes"] = {} if attributes == "{}" else orjson.loads(attributes)
    values["tags"] = [] if tags == "[]" else orjson.loads(tags)
    return {name: values[name] for name in _IMPORT_ORDER}


_IMPORT_ORDER = tuple(name for name in _FIELD_ORDER if name not in {"id", "received_at"})
"""The import format's keys: the event model's field order (its JSON's order)."""


def utc_time(value: Any) -> datetime:
    """A stored time as tz-aware UTC: SQLite gives naive-UTC text, drivers datetimes."""
    if value.__class__ is str:
        return _fromisoformat(value + "+00:00")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value if value.tzinfo is UTC else value.astimezone(UTC)  # type: ignore[no-any-return]


def _event(values: dict[str, Any]) -> Event:
    values["severity"] = _SEVERITIES[values["severity"]]
    values["source"] = _SOURCES[values["source"]]
    values["kind"] = _KINDS[values["kind"]]
    attributes = values["attributes"]
    values["attributes"] = {} if attributes == "{}" else orjson.loads(attributes)
    tags = values["tags"]
    values["tags"] = () if tags == "[]" else tuple(orjson.loads(tags))
    return _new_event(values, _EVENT_FIELDS)


def _severity(rank: int) -> Severity:
    return Severity.from_rank(rank)


INVESTIGATION_FIELDS = tuple(InvestigationFields.model_fields)


def investigation_values(fields: InvestigationFields) -> dict[str, Any]:
    """Column values for the editable fields of an investigation."""
    values: dict[str, Any] = {name: getattr(fields, name) for name in INVESTIGATION_FIELDS}
    values["severity"] = fields.severity.rank
    values["services"] = orjson.dumps(list(fields.services)).decode()
    values["tags"] = orjson.dumps(list(fields.tags)).decode()
    values["metadata_json"] = orjson.dumps(values.pop("metadata")).decode()
    return values


def investigation_from_row(row: InvestigationRow, event_count: int = 0) -> Investigation:
    """An :class:`Investigation` from its row."""
    values = {c.key: getattr(row, c.key) for c in InvestigationRow.__mapper__.column_attrs
              if c.key != TENANT}
    values["severity"] = _severity(values["severity"])
    values["status"] = InvestigationStatus(values["status"])
    values["services"] = tuple(orjson.loads(values["services"]))
    values["tags"] = tuple(orjson.loads(values["tags"]))
    values["metadata"] = orjson.loads(values.pop("metadata_json"))
    return Investigation.model_construct(event_count=event_count, **values)


def link_from_row(row: Mapping[Any, Any]) -> EventLink:
    """An :class:`EventLink` from a row of ``investigation_event``."""
    return EventLink.model_validate(dict(row))


def dead_letter_from_row(row: DeadLetterRow) -> DeadLetter:
    """A :class:`DeadLetter` from its row."""
    values = {c.key: getattr(row, c.key) for c in DeadLetterRow.__mapper__.column_attrs
              if c.key != TENANT}
    values.pop("payload_hash")
    values["status"] = DeadLetterStatus(values["status"])
    return DeadLetter.model_construct(**values)


# Re-exported for callers that need the table object itself.
EVENT_TABLE = EventRow.__table__
__all__ = ["EVENT_COLUMNS", "EVENT_NAMES", "EVENT_READ_COLUMNS", "EVENT_TABLE", "event_from_row",
           "event_from_tuple", "event_params"]
