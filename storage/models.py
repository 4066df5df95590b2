"""Domain models: frozen pydantic values that cross every layer boundary.

ORM rows never leave ``storage``; everything above it sees only these models.
All times are timezone-aware and normalised to UTC on the way in.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Self, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from storage.jsonsafe import check_json_value, encode_checked

MAX_TITLE = 2_000
MAX_BODY = 1_000_000
MAX_SHORT = 256
MAX_ATTRIBUTES_BYTES = 1_000_000
MAX_TAGS = 64
MAX_ID = 2**63 - 1
"""The largest id of any table: 64-bit signed (SQLite INTEGER, PostgreSQL BIGINT)."""
MAX_INT32 = 2**31 - 1
"""The largest value of a plain integer column."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("timestamp has no time zone; give an offset such as Z or +00:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:00:00-01:00 is a valid notation whose UTC form is in year 10000.
        raise ValueError(f"timestamp {value.isoformat()} is outside the range that converts "
                         "to UTC (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)"
                         ) from None


RFC3339 = (r"^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):"
           r"[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
"""An RFC 3339 date-time with a zone (leap seconds aside: Python has no 23:59:60)."""
_RFC3339 = re.compile(RFC3339)


def _date_time_text(value: Any) -> Any:
    # Given as data (JSON, a query string), a time is RFC 3339 text: pydantic alone
    # would read 0, 0.5 or "1700000000" as Unix seconds, a silent guess about units.
    # Epoch numbers are read only by the time module, where a source declares them.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with a zone, "
                         "such as 2026-01-01T00:00:00Z")
    return value


UTCDateTime = Annotated[datetime, BeforeValidator(_date_time_text), AfterValidator(_utc),
                        WithJsonSchema({"type": "string", "format": "date-time",
                                        "pattern": RFC3339})]
"""A datetime that must carry a zone (RFC 3339 text when given as data); kept in UTC."""


def utcnow() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


class Source(StrEnum):
    """Where an event came from: one of the six signal sources."""

    GIT = "git"
    CI = "ci"
    LOGS = "logs"
    METRICS = "metrics"
    TRACES = "traces"
    MANUAL = "manual"


class EventKind(StrEnum):
    """What an event is, independent of its source."""

    COMMIT = "commit"
    DEPLOY = "deploy"
    PIPELINE = "pipeline"
    JOB = "job"
    LOG = "log"
    ANOMALY = "anomaly"
    ALERT = "alert"
    SPAN_ERROR = "span_error"
    SLOW_TRACE = "slow_trace"
    NOTE = "note"
    OTHER = "other"


CHANGE_KINDS = frozenset({EventKind.COMMIT, EventKind.DEPLOY, EventKind.PIPELINE})
"""Kinds that represent a change to the system (suspects in an investigation)."""


class Severity(StrEnum):
    """Event and investigation severity, ordered by :attr:`rank`."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical; what "at least" queries compare."""
        return _SEVERITY_RANK[self]

    @classmethod
    def from_rank(cls, rank: int) -> Severity:
        """The severity whose :attr:`rank` is ``rank``."""
        return _RANK_SEVERITY[rank]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}
_RANK_SEVERITY = dict(enumerate(Severity))


class InvestigationStatus(StrEnum):
    """Lifecycle of an investigation; see :data:`ALLOWED_TRANSITIONS`."""

    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"


_OPEN, _INVESTIGATING, _RESOLVED = InvestigationStatus
ALLOWED_TRANSITIONS: dict[InvestigationStatus, frozenset[InvestigationStatus]] = {
    _OPEN: frozenset({_INVESTIGATING, _RESOLVED}),
    _INVESTIGATING: frozenset({_OPEN, _RESOLVED}),
    # Reopening is allowed: back to open or straight to investigating.
    _RESOLVED: frozenset({_OPEN, _INVESTIGATING}),
}


class InvalidTransitionError(ValueError):
    """A status change that the lifecycle does not allow."""

    def __init__(self, current: InvestigationStatus, target: InvestigationStatus) -> None:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "none"
        super().__init__(f"cannot move from {current} to {target} (allowed: {allowed})")
        self.current = current
        self.target = target


def check_transition(current: InvestigationStatus, target: InvestigationStatus) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current -> target`` is allowed."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransitionError(current, target)


NUL_REPLACEMENT = "\ufffd"


def without_nul(value: Any) -> Any:
    """``value`` (text or a tuple of texts) with each NUL replaced by U+FFFD."""
    # PostgreSQL text cannot hold NUL, and a log line may contain one: replacing it
    # keeps the record (same result on both engines) instead of failing the batch.
    if isinstance(value, str):
        return value.replace("\x00", NUL_REPLACEMENT) if "\x00" in value else value
    if isinstance(value, tuple) and any(isinstance(v, str) and "\x00" in v for v in value):
        return tuple(without_nul(v) for v in value)
    return value


def replace_nul_fields(model: BaseModel) -> None:
    """Replace NUL in every text field of a just-validated (possibly frozen) ``model``
    (:func:`without_nul`): what every model the store writes runs after validation."""
    # One pass over the validated fields: a field validator per field cost about
    # 12 us per event, a fifth of the log connector's whole per-line budget.
    fields = model.__dict__
    for name, value in fields.items():
        if (isinstance(value, str) and "\x00" in value) or isinstance(value, tuple):
            cleaned = without_nul(value)
            if cleaned is not value:
                fields[name] = cleaned


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_max_length=MAX_BODY)

    @model_validator(mode="after")
    def _replace_nul(self) -> Self:
        replace_nul_fields(self)
        return self


Short = Annotated[str, Field(max_length=MAX_SHORT)]


class NewEvent(_Frozen):
    """An event before it is stored: what connectors, imports and the API produce.

    ``dedup_key`` is unique per source; when absent it is derived from the content,
    so that importing the same record twice stores it once.
    """

    source: Source
    kind: EventKind
    severity: Severity = Severity.INFO
    occurred_at: UTCDateTime
    title: Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
    body: str = ""
    service: Short | None = None
    environment: Short | None = None
    host: Short | None = None
    trace_id: Short | None = None
    span_id: Short | None = None
    commit_sha: Short | None = None
    url: Annotated[str, Field(max_length=4096)] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: Annotated[tuple[Short, ...], Field(max_length=MAX_TAGS)] = ()
    dedup_key: Annotated[str, Field(min_length=1, max_length=512)] | None = None

    @field_validator("attributes", mode="after")
    @classmethod
    def _check_attributes(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        # A field validator, so that an error names ``attributes`` (not the model).
        if attributes:
            encode_checked(attributes, "attributes", MAX_ATTRIBUTES_BYTES)
        return attributes

    def attributes_json(self) -> str:
        """The attributes as compact JSON with sorted keys (stable across runs)."""
        return orjson.dumps(self.attributes, option=orjson.OPT_SORT_KEYS).decode()

    def effective_dedup_key(self) -> str:
        """``dedup_key`` if given, else a SHA-256 of the identifying content."""
        if self.dedup_key is not None:
            return self.dedup_key
        canonical = orjson.dumps(
            [
                self.kind, self.occurred_at.isoformat(), self.title, self.body, self.service,
                self.environment, self.host, self.trace_id, self.span_id, self.commit_sha,
                self.attributes,
            ],
            option=orjson.OPT_SORT_KEYS,
        )
        return "sha256:" + hashlib.sha256(canonical).hexdigest()


class Event(NewEvent):
    """A stored event."""

    id: int
    dedup_key: str
    received_at: UTCDateTime


class LinkReason(StrEnum):
    """Why an event belongs to an investigation."""

    MANUAL = "manual"
    RULE = "rule"


class EventLink(_Frozen):
    """The record of why an event is linked to an investigation.

    A rule link names the rule, the key it matched on and the window it used, so a
    responder can see why the grouping happened.
    """

    investigation_id: int
    event_id: int
    reason: LinkReason = LinkReason.MANUAL
    rule: str | None = None
    key: str | None = None
    window_seconds: int | None = None
    note: str | None = None
    linked_by: str | None = None
    linked_at: UTCDateTime


class LinkedEvent(_Frozen):
    """An event with the reason it is linked to an investigation."""

    event: Event
    link: EventLink


TIMESTAMP_ORDER = (
    "impact_started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
)
"""Typed investigation timestamps, in the order they must occur."""


def check_timestamp_order(values: dict[str, datetime | None]) -> None:
    """Raise ``ValueError`` naming the pair if the typed timestamps are out of order."""
    previous: tuple[str, datetime] | None = None
    for name in TIMESTAMP_ORDER:
        value = values.get(name)
        if value is None:
            continue
        if previous is not None and value < previous[1]:
            raise ValueError(f"{name} ({value.isoformat()}) is before {previous[0]} "
                             f"({previous[1].isoformat()})")
        previous = (name, value)


class InvestigationFields(_Frozen):
    """The editable fields of an investigation (what create and update accept)."""

    title: Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
    summary: str = ""
    severity: Severity = Severity.MEDIUM
    services: tuple[Short, ...] = ()
    owner: Short | None = None
    team: Short | None = None
    impact_domain: Short | None = None
    business_impact: str | None = None
    estimated_mttr_minutes: Annotated[int, Field(ge=0, le=MAX_INT32, strict=True)] | None = None
    automation_potential: Short | None = None
    root_cause: str | None = None
    impact_started_at: UTCDateTime | None = None
    detected_at: UTCDateTime | None = None
    acknowledged_at: UTCDateTime | None = None
    mitigated_at: UTCDateTime | None = None
    resolved_at: UTCDateTime | None = None
    tags: tuple[Short, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata", mode="after")
    @classmethod
    def _check_metadata(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        if metadata:
            check_json_value(metadata, "metadata")
        return metadata

    @model_validator(mode="after")
    def _check_order(self) -> InvestigationFields:
        check_timestamp_order({name: getattr(self, name) for name in TIMESTAMP_ORDER})
        return self


class NewInvestigation(InvestigationFields):
    """An investigation to create."""

    status: InvestigationStatus = InvestigationStatus.OPEN


class Investigation(NewInvestigation):
    """A stored investigation."""

    id: int
    created_at: UTCDateTime
    updated_at: UTCDateTime
    event_count: int = 0

    def time_to_resolve(self) -> float | None:
        """Seconds from impact start (or detection) to resolution, if both are known."""
        start = self.impact_started_at or self.detected_at
        if start is None or self.resolved_at is None:
            return None
        return (self.resolved_at - start).total_seconds()

    def time_to_detect(self) -> float | None:
        """Seconds from impact start to detection, if both are known."""
        if self.impact_started_at is None or self.detected_at is None:
            return None
        return (self.detected_at - self.impact_started_at).total_seconds()


class DeadLetterStatus(StrEnum):
    """State of a dead-letter entry; replayed and discarded are terminal."""

    PENDING = "pending"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class NewDeadLetter(_Frozen):
    """A record that could not be stored, kept with its raw payload for replay."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connector: Short
    payload: bytes
    error_class: Short
    message: Annotated[str, Field(max_length=8_192)]
    source_ref: Annotated[str, Field(max_length=2_048)] | None = None
    attempts: Annotated[int, Field(ge=1)] = 1

    def payload_hash(self) -> str:
        """SHA-256 of the payload: the same record failing again is one entry."""
        return hashlib.sha256(self.payload).hexdigest()


class DeadLetter(NewDeadLetter):
    """A stored dead-letter entry."""

    id: int
    status: DeadLetterStatus
    first_seen: UTCDateTime
    last_seen: UTCDateTime
    resolved_at: UTCDateTime | None = None
    resolved_by: str | None = None


class IngestResult(_Frozen):
    """What one ingest transaction did."""

    received: int
    stored: int
    deduplicated: int
    dead_lettered: int
    conflicting: int = 0
    """Of ``deduplicated``: records whose key was known with different content (each
    kept in the DLQ with both versions)."""


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One keyset page. ``next_cursor`` continues in the same order, ``prev_cursor`` goes back."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None = None
    prev_cursor: str | None = None
