"""Connector health and DLQ access for the health pane (blocking: call from threads).

The connector runtime is optional: when ``connectors.health`` exposes
``snapshot()`` its live view is used; otherwise the last snapshots persisted in
the ``connector_health`` table are shown (written by ``workbench serve``). DLQ
counts always come from the store, so a connector with dead letters appears even
if it never reported health.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select

from storage import Store
from storage import dead_letters as dlq_repo
from storage.models import DeadLetter, DeadLetterStatus
from storage.tables import ConnectorHealthRow


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return dict(vars(value))


def _live_snapshots() -> list[dict[str, Any]] | None:
    try:
        health = importlib.import_module("connectors.health")
    except ImportError:
        return None
    snapshot = getattr(health, "snapshot", None)
    if snapshot is None:
        return None
    data = snapshot()
    if isinstance(data, Mapping):
        return [{"name": name, **_as_dict(v)} for name, v in data.items()]
    return [_as_dict(v) for v in data]


def _stored_snapshots(store: Store) -> list[dict[str, Any]]:
    with store.read() as session:
        rows = session.execute(select(ConnectorHealthRow)).scalars().all()
        out = []
        for row in rows:
            try:
                snap = orjson.loads(row.snapshot)
            except orjson.JSONDecodeError:
                snap = {"last_error": "unreadable health snapshot"}
            out.append({"name": row.connector, **(snap if isinstance(snap, dict) else {})})
        return out


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    breaker = row.get("breaker") or row.get("breaker_state") or row.get("circuit")
    if isinstance(breaker, Mapping):
        breaker = breaker.get("state")
    return {**row, "name": row.get("name") or row.get("connector"),
            "breaker": getattr(breaker, "value", breaker)}


def connector_rows(store: Store) -> list[dict[str, Any]]:
    """One dict per connector: state, breaker, counters, last success/error, DLQ size."""
    rows = _live_snapshots()
    if rows is None:
        rows = _stored_snapshots(store)
    by_name = {str(r["name"]): r for r in map(_normalise, rows)}
    for name, pending in store.pending_dead_letters().items():
        by_name.setdefault(name, {"name": name, "state": "unknown"})["dlq_size"] = pending
    return sorted(by_name.values(), key=lambda r: str(r["name"]))


def dead_letters(store: Store, connector: str | None, limit: int = 500) -> list[DeadLetter]:
    """Pending entries, newest first."""
    return store.list_dead_letters(connector=connector, limit=limit).items


def discard(store: Store, letter_id: int, *, by: str) -> DeadLetter:
    """Mark an entry discarded (terminal; the raw payload is kept for the record)."""
    with store.write() as session:
        return dlq_repo.resolve(session=session, letter_id=letter_id,
                                status=DeadLetterStatus.DISCARDED, by=by)


def replay(store: Store, letter_id: int, *, by: str) -> str:
    """Re-parse an entry with the current parser, via the connector runtime if installed."""
    try:
        control = importlib.import_module("connectors.dlq")
    except ImportError:
        control = None
    fn = getattr(control, "replay", None) if control else None
    if fn is None:
        raise RuntimeError("replay needs the connector runtime (connectors.dlq.replay), "
                           "which is not installed")
    result = fn(store, letter_id)
    return str(getattr(result, "status", result))
