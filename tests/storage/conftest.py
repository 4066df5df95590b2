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


@pytest.fixture
def t0() -> datetime:
    """A fixed reference time."""
    return T0
