"""Helpers for the storage tests: event factories with deterministic content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage import EventKind, NewEvent, Severity, Source

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def new_event(n: int = 0, **overrides: Any) -> NewEvent:
    """Event number ``n``: a minute after event ``n - 1``, with a unique dedup key."""
    values: dict[str, Any] = {
        "source": Source.LOGS,
        "kind": EventKind.LOG,
        "severity": Severity.INFO,
        "occurred_at": T0 + timedelta(minutes=n),
        "title": f"event {n}",
        "body": f"body of event {n}",
        "service": "api",
        "environment": "prod",
        "dedup_key": f"k{n}",
    }
    values.update(overrides)
    return NewEvent(**values)


def full_event() -> NewEvent:
    """An event with every field set to something other than its default."""
    return NewEvent(
        source=Source.TRACES, kind=EventKind.SPAN_ERROR, severity=Severity.HIGH,
        occurred_at=datetime(2026, 11, 2, 8, 29, 59, 5, tzinfo=UTC), service="checkout",
        environment="production", host="web-3", title="POST /pay failed", body="timeout",
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id="00f067aa0ba902b7",
        commit_sha="0123456789abcdef0123456789abcdef01234567", url="http://ci.local/run/7",
        attributes={"status": 503, "nested": {"a": [1, 2]}}, tags=("pager", "team:pay"),
        dedup_key="span_error:4bf92f35:00f067aa")


@pytest.fixture
def t0() -> datetime:
    """A fixed reference time."""
    return T0
