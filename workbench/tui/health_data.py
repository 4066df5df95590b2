"""Connector health and DLQ access for the health pane (blocking: call from threads).

Statuses come from :func:`connectors.status.collect_statuses`: live from the
supervisor's control when it runs in this process, else the snapshots persisted
by ``workbench serve``; DLQ counts always come from the store, so a connector with
dead letters appears even if it never reported health.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.status import collect_statuses
from storage import Store
from storage import dead_letters as dlq_repo
from storage.models import DeadLetter, DeadLetterStatus

if TYPE_CHECKING:
    from connectors.control import Control
    from connectors.dlq import Parsers


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    """The registry's field names (``connectors.health.ConnectorHealth``) -> the pane's."""
    breaker = row.get("breaker") or row.get("breaker_state")
    state = row.get("state") or row.get("status")
    return {**row, "name": row.get("name") or row.get("connector"),
            "breaker": getattr(breaker, "value", breaker),
            "state": getattr(state, "value", state),
            "events_in": row.get("events_in", row.get("received", 0)),
            "last_error": row.get("last_error") or ""}


def connector_rows(store: Store, control: Control | None = None) -> list[dict[str, Any]]:
    """One dict per connector: state, breaker, counters, last success/error, DLQ size."""
    live = control.snapshot() if control is not None else None
    with store.read() as session:
        statuses = collect_statuses(session=session, live=live)
    return [{**(_normalise({"name": s.name, **s.health}) if s.health
                else {"name": s.name, "state": "no runtime"}), "dlq_size": s.dlq_size,
             **_lease(s.lease)}
            for s in statuses]


def _lease(lease: Any) -> dict[str, Any]:
    """Who polls the connector on a shared store: ``held_by`` (host:pid, or ``NOBODY``
    when its lease lapsed; ``None`` if it never ran under one), ``held_since`` and
    ``lease_age_s`` (seconds since the holder renewed)."""
    if lease is None:
        return {"held_by": None, "held_since": None, "lease_age_s": None}
    return {"held_by": f"{lease.host}:{lease.pid}" if lease.held else "NOBODY",
            "held_since": lease.since if lease.held else None,
            "lease_age_s": lease.age_seconds}


def dead_letters(store: Store, connector: str | None, limit: int = 500) -> list[DeadLetter]:
    """Pending entries, newest first."""
    return store.list_dead_letters(connector=connector, limit=limit).items


def discard(store: Store, letter_id: int, *, by: str, control: Control | None = None
            ) -> DeadLetter:
    """Mark an entry discarded (terminal; the raw payload is kept for the record)."""
    if control is not None:
        return control.discard(letter_id, by=by)
    with store.write() as session:
        return dlq_repo.resolve(session=session, letter_id=letter_id,
                                status=DeadLetterStatus.DISCARDED, by=by)


def replay(store: Store, letter_id: int, *, by: str, control: Control | None = None,
           parsers: Parsers | None = None, config: Any = None) -> tuple[bool, str]:
    """Re-parse an entry with the current parser: through the running supervisor's control,
    else with the runtime's parsers (those of the configured connectors), else with the
    configured connectors' parsers and the built-in ones, as ``workbench dlq replay`` does:
    ``(replayed, one line for the user)``."""
    if control is not None:
        outcome = control.replay(letter_id, by=by)
    else:
        from connectors import dlq

        if parsers is None:
            parsers = dlq.Parsers()
            if config is not None and config.connectors:
                from workbench.runtime.build import parsers as configured

                parsers = configured(config)
        outcome = dlq.replay(store, letter_id, parsers, by=by)
    return _outcome_text(letter_id, outcome)


def _outcome_text(letter_id: int, outcome: Any) -> tuple[bool, str]:
    status = getattr(outcome, "status", outcome)
    value = str(getattr(status, "value", status))
    error = getattr(outcome, "error", None)
    if value == "replayed":
        stored = getattr(outcome, "stored", True)
        return True, f"dead letter {letter_id} replayed" + ("" if stored else
                                                            " (the event was already stored)")
    if error:
        return False, f"dead letter {letter_id}: replay failed again: {error}"
    return False, f"dead letter {letter_id}: {value.replace('_', ' ')}"
