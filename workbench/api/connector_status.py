"""Connector status for the API and ``/metrics``, from whatever knows it.

With a supervisor in this process, the live health registry answers. Without one
(the API served beside a separate ``workbench serve``, or alone), the last snapshot
each runner persisted in ``connector_health`` answers, with ``live = false``. The
pending DLQ size always comes from the store, which is the source of truth for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from storage import dead_letters
from storage.connector_health import load_health

_REGISTRY_METHODS = ("snapshots", "snapshot", "statuses", "all")


class ConnectorStatus(BaseModel):
    """One connector's health."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: str | None = None
    """Circuit-breaker state (closed, open, half_open) when known."""
    live: bool
    """True if read from the running supervisor, false if from the last stored snapshot."""
    dlq_size: int = 0
    updated_at: datetime | None = None
    details: dict[str, Any] = {}


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return dict(vars(value))


def live_snapshots(health: Any) -> dict[str, dict[str, Any]]:
    """Snapshots from a health registry, by connector name (empty if there is none)."""
    if health is None:
        return {}
    for method in _REGISTRY_METHODS:
        func = getattr(health, method, None)
        if callable(func):
            raw = func()
            items = raw.items() if isinstance(raw, Mapping) else (
                (_as_dict(v).get("name"), v) for v in raw)
            return {str(name): _jsonable(_as_dict(v)) for name, v in items}
    return {}


def _jsonable(snapshot: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(snapshot, default=str))
    return loaded


def _state(snapshot: Mapping[str, Any]) -> str | None:
    for key in ("state", "breaker_state", "breaker"):
        value = snapshot.get(key)
        if isinstance(value, str):
            return value.lower()
        if isinstance(value, Mapping) and isinstance(value.get("state"), str):
            return str(value["state"]).lower()
    return None


def collect(session: Session, health: Any) -> list[ConnectorStatus]:
    """Every known connector's status, sorted by name."""
    live = live_snapshots(health)
    stored = {} if live else load_health(session=session)
    pending = dead_letters.count_pending(session=session)
    names = sorted(set(live) | set(stored) | set(pending))
    result = []
    for name in names:
        snapshot, updated = (live[name], None) if name in live else stored.get(name, ({}, None))
        result.append(ConnectorStatus(name=name, state=_state(snapshot), live=name in live,
                                      dlq_size=pending.get(name, 0), updated_at=updated,
                                      details=snapshot))
    return result
