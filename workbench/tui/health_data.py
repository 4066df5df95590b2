"""Connector health and DLQ access for the health pane (blocking: call from threads).

The connector runtime is optional: when ``connectors.health`` exposes
``snapshot()`` its live view is used; otherwise the last snapshots persisted in
the ``connector_health`` table are shown (written by ``workbench serve``). DLQ
counts always come from the store, so a connector with dead letters appears even
if it never reported health.
"""

from __future__ import annotations

import dataclasses
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


def _live_snapshots(control: Any) -> list[dict[str, Any]] | None:
    if control is None:
        return None
    return [{"name": name, **_as_dict(v)} for name, v in control.snapshot().items()]


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
    """The registry's field names (``connectors.health.ConnectorHealth``) -> the pane's."""
    breaker = row.get("breaker") or row.get("breaker_state")
    state = row.get("state") or row.get("status")
    return {**row, "name": row.get("name") or row.get("connector"),
            "breaker": getattr(breaker, "value", breaker),
            "state": getattr(state, "value", state),
            "events_in": row.get("events_in", row.get("received", 0)),
            "last_error": row.get("last_error") or ""}


def connector_rows(store: Store, control: Any = None) -> list[dict[str, Any]]:
    """One dict per connector: state, breaker, counters, last success/error, DLQ size."""
    rows = _live_snapshots(control)
    if rows is None:
        rows = _stored_snapshots(store)
    by_name = {str(r["name"]): r for r in map(_normalise, rows)}
    for row in by_name.values():
        row["dlq_size"] = 0
    for name, pending in store.pending_dead_letters().items():
        by_name.setdefault(name, {"name": name, "state": "no runtime"})["dlq_size"] = pending
    return sorted(by_name.values(), key=lambda r: str(r["name"]))


def dead_letters(store: Store, connector: str | None, limit: int = 500) -> list[DeadLetter]:
    """Pending entries, newest first."""
    return store.list_dead_letters(connector=connector, limit=limit).items


def discard(store: Store, letter_id: int, *, by: str, control: Any = None) -> DeadLetter:
    """Mark an entry discarded (terminal; the raw payload is kept for the record)."""
    if control is not None:
        result: DeadLetter = control.discard(letter_id, by=by)
        return result
    with store.write() as session:
        return dlq_repo.resolve(session=session, letter_id=letter_id,
                                status=DeadLetterStatus.DISCARDED, by=by)


def replay(store: Store, letter_id: int, *, by: str, control: Any = None,
           config: Any = None) -> str:
    """Re-parse an entry with the current parser: through the running supervisor's control,
    else with the parsers of the configured connectors."""
    if control is not None:
        outcome = control.replay(letter_id, by=by)
    else:
        if config is None or not config.connectors:
            raise RuntimeError("replay needs the connector's parser: configure the connector "
                               "([[connectors]] in the config) so its parser is known")
        from connectors import dlq
        from workbench.cli.runtime import parsers

        outcome = dlq.replay(store, letter_id, parsers(config), by=by)
    return _outcome_text(outcome)


def _outcome_text(outcome: Any) -> str:
    status = getattr(outcome, "status", outcome)
    return str(getattr(status, "value", status))
