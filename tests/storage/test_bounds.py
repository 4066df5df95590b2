"""Bounds of the domain models and cursors, and full-text search with many terms."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from storage import EventQuery, InvalidCursorError, NewEvent, NewInvestigation, Store
from storage.jsonsafe import MAX_DEPTH, check_json_value, loads_exact
from storage.models import MAX_ID
from storage.pagination import int_value, str_value, time_value
from tests.storage.conftest import new_event


@pytest.mark.parametrize(("notation", "offset"), [((9999, 12, 31, 23), -1), ((1, 1, 1, 0), 23)])
def test_a_time_whose_utc_form_overflows_is_a_value_error(notation: tuple[int, int, int, int],
                                                          offset: int) -> None:
    moment = datetime(*notation, tzinfo=timezone(timedelta(hours=offset)))
    with pytest.raises(ValidationError) as caught:
        new_event(occurred_at=moment)
    assert "outside the range that converts to UTC" in str(caught.value)
    assert caught.value.errors()[0]["loc"] == ("occurred_at",)


def _deep(levels: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    level = top
    for _ in range(levels - 1):
        level["a"] = {}
        level = level["a"]
    return top


@pytest.mark.parametrize(("value", "message"), [
    ({"a": [1, {"b": 2**64}]}, "attributes.a[1].b: integer"),
    ({"a": -(2**63) - 1}, "attributes.a: integer"),
    ({"x": math.inf}, "attributes.x: inf is not a finite number"),
    ({"x": [math.nan]}, "attributes.x[0]: nan"),
    (_deep(MAX_DEPTH + 1), "nested deeper than"),
])
def test_json_values_that_cannot_be_stored_exactly(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_json_value(value, "attributes")
    with pytest.raises(ValidationError):
        new_event(attributes=value)


def test_json_values_at_the_limits_are_fine() -> None:
    check_json_value({"max": 2**64 - 1, "min": -(2**63), "f": 1e308, "d": _deep(MAX_DEPTH - 1)},
                     "attributes")
    NewInvestigation(title="t", metadata=_deep(MAX_DEPTH), estimated_mttr_minutes=2**31 - 1)
    with pytest.raises(ValidationError):
        NewInvestigation(title="t", estimated_mttr_minutes=2**31)


def test_cursor_values_are_checked() -> None:
    assert int_value(MAX_ID) == MAX_ID
    for bad in (MAX_ID + 1, -MAX_ID - 2, True, 1.0, "1"):
        with pytest.raises(InvalidCursorError):
            int_value(bad)
    with pytest.raises(InvalidCursorError):
        str_value("a\x00b")
    assert time_value("2026-01-01T01:00:00+01:00") == datetime(2026, 1, 1, tzinfo=UTC)
    for bad_time in ("9999-12-31T23:00:00-01:00", "0001-01-01T00:00:00+00:01",
                     "2026-01-01T00:00:00", "soon", 5):
        with pytest.raises(InvalidCursorError):
            time_value(bad_time)


def test_search_with_hundreds_of_terms(store: Store) -> None:
    """PostgreSQL compiled a left-deep ``&&`` chain: 200 terms hit the recursion limit."""
    store.ingest([new_event(1, title="a b")])
    text = " ".join(["a"] * 400 + ["b"])
    assert [e.title for e in store.list_events(EventQuery(text=text)).items] == ["a b"]
    assert store.list_events(EventQuery(text=text + " c")).items == []


@pytest.mark.parametrize("number", [b"1180591620717411303424", b"-9223372036854775809",
                                    b"1e999", b"-1e999"])
def test_numbers_json_cannot_hold_are_refused_on_every_path(number: bytes) -> None:
    """The API (stdlib json) and ``workbench ingest`` (orjson) give the same verdict."""
    import json

    from connectors.errors import PoisonRecordError
    from connectors.jsonl import parse_line

    line = (b'{"source":"manual","kind":"note","title":"x","occurred_at":'
            b'"2026-01-01T00:00:00Z","attributes":{"n":' + number + b"}}")
    with pytest.raises(ValidationError):
        NewEvent.model_validate(json.loads(line))  # what FastAPI hands the model
    with pytest.raises(PoisonRecordError):
        parse_line(line)
    fits = line.replace(number, b"9223372036854775807")
    assert parse_line(fits).attributes == {"n": 2**63 - 1}
    assert loads_exact(b'{"n": 1180591620717411303424}') == {"n": 2**70}
