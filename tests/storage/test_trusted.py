"""The trusted constructor gives what the validated one gives, on random inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.jsonsafe import encode_checked
from storage.models import MAX_SHORT, MAX_TITLE, EventKind, NewEvent, Severity, Source
from storage.trusted import trusted_event

_text = st.text(alphabet=st.sampled_from(["a", "é", "\x00", " ", "\n", "\ud800"]), max_size=8)
_edgy = st.one_of(
    _text,
    st.sampled_from(["", "x" * MAX_SHORT, "x" * (MAX_SHORT + 1), "t" * MAX_TITLE,
                     "t" * (MAX_TITLE + 1)]),
)
_json_leaf = st.one_of(
    st.none(), st.booleans(), st.text(max_size=4),
    st.integers(min_value=-(2**66), max_value=2**66),
    st.floats(allow_nan=True, allow_infinity=True),
)
_json = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=12)
_when = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=2))])),
    st.datetimes(),  # naive: refused
)


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"k": value}
    return value


_attributes = st.one_of(
    st.dictionaries(st.text(max_size=4), _json, max_size=4),
    st.sampled_from([_deep(31), _deep(40), {"n": float("inf")}, {"n": 2**64}, {"n": 2**64 - 1},
                     {1: "int key"}, {"s": "\ud800"}]),
)


@st.composite
def _fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "source": draw(st.one_of(st.sampled_from(list(Source)), st.just("logs"))),
        "kind": draw(st.one_of(st.sampled_from(list(EventKind)), st.just("nope"))),
        "occurred_at": draw(_when),
        "title": draw(_edgy),
    }
    optional = {
        "severity": st.one_of(st.sampled_from(list(Severity)), st.just("high")),
        "body": _edgy, "service": st.one_of(st.none(), _edgy), "host": st.one_of(st.none(), _edgy),
        "trace_id": st.one_of(st.none(), _edgy), "url": st.one_of(st.none(), _edgy),
        "dedup_key": st.one_of(st.none(), _edgy),
        "tags": st.one_of(st.lists(_edgy, max_size=3).map(tuple), st.just(("t",) * 65),
                          st.just(["list"])),
        "attributes": _attributes,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    return fields


def _outcome(build: Any, fields: dict[str, Any]) -> tuple[str, Any]:
    try:
        event = build(**fields)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        return "error", str(exc)
    return "event", (event.model_dump(), event.model_fields_set)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fields())
def test_trusted_equals_validated(fields: dict[str, Any]) -> None:
    """Same event (fields and which were set) or the same error, whatever the input."""
    assert _outcome(trusted_event, fields) == _outcome(NewEvent, fields)


def test_sound_fields_skip_validation() -> None:
    """The point of it: sound fields build the model without pydantic's validator."""
    fields: dict[str, Any] = {
        "source": Source.LOGS, "kind": EventKind.LOG, "severity": Severity.HIGH,
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC), "title": "t",
        "attributes": {"a": [1, 2.5, None]}, "tags": ("x",), "dedup_key": "f@1"}
    event = trusted_event(**fields)
    assert event == NewEvent(**fields)
    assert event.attributes is fields["attributes"]  # not copied: no validation ran


@pytest.mark.parametrize(("value", "message"), [
    ({"n": float("inf")}, "attributes.n: inf is not a finite number"),
    ({"n": 2**64}, "attributes.n: integer"),
    ({"k": _deep(40)}, "nested deeper than 32"),
    ({"s": "\ud800"}, "attributes cannot be stored as JSON"),
    ({"s": "x" * 20}, "attributes exceed 10 bytes"),
])
def test_encode_checked_names_the_fault(value: dict[str, Any], message: str) -> None:
    """The fast encoding check refuses what the full walk refuses, with its message."""
    with pytest.raises(ValueError, match=message):
        encode_checked(value, "attributes", 10 if "x" * 20 in str(value) else 10**6)
