"""JSON Lines events: the bulk-import format and its pure parser.

One JSON object per line with the Event model's field names. ``parse_line`` is
what ``workbench ingest`` runs on every line and what DLQ replay runs on a stored
line (connector name :data:`CONNECTOR`).
"""

from __future__ import annotations

from pydantic import ValidationError

from connectors.errors import PoisonRecordError
from storage.jsonsafe import loads_exact
from storage.models import NewEvent, utcnow
from storage.times import TimestampError, read_time, time_settings

CONNECTOR = "import"
MAX_LINE_BYTES = 16 * 1024 * 1024
_TIMES = time_settings(zone=None)
"""Imported events must say their zone; epoch numbers by the time module's unit rule."""


def parse_line(raw: bytes) -> NewEvent:
    """Parse one line into an event; :class:`PoisonRecordError` names what is wrong."""
    if len(raw) > MAX_LINE_BYTES:
        raise PoisonRecordError(f"line is {len(raw)} bytes, over the {MAX_LINE_BYTES} limit",
                                payload=raw, error_class="LineTooLong")
    try:
        data = loads_exact(raw)  # 2**70 stays exact, and is refused as the API refuses it
    except ValueError as exc:
        raise PoisonRecordError(f"not valid JSON: {exc}", payload=raw,
                                error_class="InvalidJSON") from exc
    if not isinstance(data, dict):
        raise PoisonRecordError(f"expected a JSON object, got {type(data).__name__}",
                                payload=raw, error_class="NotAnObject")
    if data.get("occurred_at") is not None:
        # The time module, not pydantic, reads the time: pydantic takes seconds above
        # 2e10 as milliseconds and lets an overflow past 9999-12-31 escape as OverflowError.
        try:
            data["occurred_at"] = read_time(data["occurred_at"], _TIMES, utcnow()).utc
        except TimestampError as exc:
            raise PoisonRecordError(f"field 'occurred_at': {exc}", payload=raw,
                                    error_class=exc.error_class) from exc
    try:
        return NewEvent.model_validate(data)
    except ValidationError as exc:
        raise PoisonRecordError(describe_validation_error(exc), payload=raw,
                                error_class="InvalidEvent") from exc


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem: the field path, the reason and (shortened) the value given."""
    problems = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "(object)"
        value = error.get("input")
        shown = "" if error["type"] == "missing" else f" (got {_short(value)})"
        problems.append(f"field {path!r}: {error['msg']}{shown}")
    return "; ".join(problems)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
