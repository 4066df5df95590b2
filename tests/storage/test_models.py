"""Domain models: validation names the field; lifecycle rules; UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from storage import (
    InvalidTransitionError,
    InvestigationStatus,
    NewDeadLetter,
    NewEvent,
    NewInvestigation,
    Severity,
)
from storage.models import (
    MAX_ATTRIBUTES_BYTES,
    MAX_SHORT,
    MAX_TITLE,
    check_transition,
)

GOOD: dict[str, Any] = {
    "source": "logs",
    "kind": "log",
    "severity": "high",
    "occurred_at": "2026-11-01T12:00:00Z",
    "title": "boom",
}


def _error_fields(exc: ValidationError) -> set[str]:
    return {str(part) for err in exc.errors() for part in err["loc"]}


def test_valid_event_parses_from_json_types() -> None:
    event = NewEvent.model_validate(GOOD)
    assert event.severity is Severity.HIGH
    assert event.occurred_at == datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", "carrier-pigeon"),
        ("kind", "explosion"),
        ("severity", "catastrophic"),
        ("occurred_at", "2026-11-01T12:00:00"),  # naive
        ("occurred_at", "yesterday at noon"),
        ("occurred_at", 3.5e30),
        ("title", ""),
        ("title", "x" * (MAX_TITLE + 1)),
        ("service", "s" * (MAX_SHORT + 1)),
        ("title", 42),
        ("attributes", ["not", "a", "dict"]),
        ("tags", "not-a-list"),
        ("tags", ["t"] * 65),
        ("url", "u" * 5000),
        ("dedup_key", ""),
        ("severity", None),
    ],
)
def test_invalid_field_is_named(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        NewEvent.model_validate({**GOOD, field: value})
    assert field in _error_fields(info.value), info.value.errors()


@pytest.mark.parametrize("field", ["source", "kind", "occurred_at", "title"])
def test_missing_required_field_is_named(field: str) -> None:
    data = {k: v for k, v in GOOD.items() if k != field}
    with pytest.raises(ValidationError) as info:
        NewEvent.model_validate(data)
    assert field in _error_fields(info.value)
    assert info.value.errors()[0]["type"] == "missing"


def test_unknown_field_is_refused_and_named() -> None:
    with pytest.raises(ValidationError) as info:
        NewEvent.model_validate({**GOOD, "sevirity": "high"})
    assert "sevirity" in _error_fields(info.value)


def test_oversized_attributes_are_refused() -> None:
    big = {"blob": "x" * (MAX_ATTRIBUTES_BYTES + 10)}
    with pytest.raises(ValidationError, match="attributes exceed"):
        NewEvent.model_validate({**GOOD, "attributes": big})


def test_invalid_element_position_is_reported() -> None:
    with pytest.raises(ValidationError) as info:
        NewEvent.model_validate({**GOOD, "tags": ["ok", 7, "fine"]})
    locs = [err["loc"] for err in info.value.errors()]
    assert ("tags", 1) in locs


def test_offsets_are_normalised_to_utc() -> None:
    event = NewEvent.model_validate({**GOOD, "occurred_at": "2026-11-01T14:00:00+02:00"})
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.occurred_at == datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_naive_datetime_object_is_refused() -> None:
    naive = datetime(2026, 11, 1, 12)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValidationError, match="time zone"):
        NewEvent.model_validate({**GOOD, "occurred_at": naive})


def test_events_are_frozen() -> None:
    event = NewEvent.model_validate(GOOD)
    with pytest.raises(ValidationError):
        event.title = "changed"  # type: ignore[misc]  # the point: frozen refuses it


def test_dedup_key_is_derived_from_content_and_stable() -> None:
    a = NewEvent.model_validate({**GOOD, "attributes": {"b": 1, "a": 2}})
    b = NewEvent.model_validate({**GOOD, "attributes": {"a": 2, "b": 1}})
    c = NewEvent.model_validate({**GOOD, "title": "other"})
    assert a.effective_dedup_key() == b.effective_dedup_key()
    assert a.effective_dedup_key().startswith("sha256:")
    assert a.effective_dedup_key() != c.effective_dedup_key()
    explicit = NewEvent.model_validate({**GOOD, "dedup_key": "run-1"})
    assert explicit.effective_dedup_key() == "run-1"


def test_same_instant_in_another_zone_has_the_same_dedup_key() -> None:
    a = NewEvent.model_validate(GOOD)
    b = NewEvent.model_validate({**GOOD, "occurred_at": "2026-11-01T07:00:00-05:00"})
    assert a.effective_dedup_key() == b.effective_dedup_key()


def test_severity_rank_orders_and_round_trips() -> None:
    ranks = [s.rank for s in (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH,
                              Severity.CRITICAL)]
    assert ranks == sorted(ranks) == list(range(5))
    assert all(Severity.from_rank(s.rank) is s for s in Severity)


OPEN, INVESTIGATING, RESOLVED = InvestigationStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [(OPEN, INVESTIGATING), (OPEN, RESOLVED), (INVESTIGATING, RESOLVED),
     (INVESTIGATING, OPEN), (RESOLVED, OPEN), (RESOLVED, INVESTIGATING)],
)
def test_allowed_transitions_including_reopen(current: InvestigationStatus,
                                              target: InvestigationStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize("status", list(InvestigationStatus))
def test_self_transition_is_refused(status: InvestigationStatus) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        check_transition(status, status)
    assert info.value.current is status and info.value.target is status
    assert "allowed" in str(info.value)


T = datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_typed_timestamps_in_order_are_accepted() -> None:
    inv = NewInvestigation(title="x", impact_started_at=T, detected_at=T + timedelta(minutes=5),
                           acknowledged_at=T + timedelta(minutes=6),
                           mitigated_at=T + timedelta(minutes=30),
                           resolved_at=T + timedelta(hours=1))
    assert inv.resolved_at is not None


@pytest.mark.parametrize(
    ("later", "earlier"),
    [("detected_at", "impact_started_at"), ("resolved_at", "mitigated_at"),
     ("acknowledged_at", "detected_at")],
)
def test_typed_timestamps_out_of_order_name_the_pair(later: str, earlier: str) -> None:
    with pytest.raises(ValidationError) as info:
        NewInvestigation(title="x", **{earlier: T, later: T - timedelta(seconds=1)})
    assert later in str(info.value) and earlier in str(info.value)


def test_gaps_in_typed_timestamps_still_checked() -> None:
    with pytest.raises(ValidationError, match="resolved_at"):
        NewInvestigation(title="x", impact_started_at=T, resolved_at=T - timedelta(hours=1))


def test_investigation_timestamps_need_a_zone() -> None:
    other_zone = timezone(timedelta(hours=3))
    inv = NewInvestigation(title="x", detected_at=datetime(2026, 11, 1, 15, tzinfo=other_zone))
    assert inv.detected_at == T
    with pytest.raises(ValidationError, match="detected_at"):
        NewInvestigation(title="x", detected_at="2026-11-01T12:00:00")


def test_investigation_invalid_enums_are_named() -> None:
    with pytest.raises(ValidationError) as info:
        NewInvestigation.model_validate({"title": "x", "status": "closed", "severity": "meh"})
    assert {"status", "severity"} <= _error_fields(info.value)


def test_dead_letter_validation() -> None:
    with pytest.raises(ValidationError) as info:
        NewDeadLetter(connector="c", payload=b"x", error_class="E", message="m", attempts=0)
    assert "attempts" in _error_fields(info.value)
    a = NewDeadLetter(connector="c", payload=b"x", error_class="E", message="m")
    b = NewDeadLetter(connector="c", payload=b"x", error_class="F", message="n")
    assert a.payload_hash() == b.payload_hash()
