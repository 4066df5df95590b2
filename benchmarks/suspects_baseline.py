"""The suspect ranking as it was before issue 19, frozen as the benchmark's anchor.

A copy on purpose: ``bench_suspects`` measures the product's ranking against this one
in the same run, on the same incidents (it is not used by the product).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.models import CHANGE_KINDS, Event, EventKind, LinkedEvent
from storage.queries import EventQuery
from storage.store import Store

WEIGHTS = {"time": 2.0, "service": 1.5, "sha": 2.5}
KIND_BONUS = {EventKind.DEPLOY: 1.0, EventKind.COMMIT: 0.6, EventKind.PIPELINE: 0.2}
LOOKBACK = timedelta(hours=6)


def _shas_seen(linked: list[LinkedEvent]) -> set[str]:
    seen: set[str] = set()
    for item in linked:
        if item.event.kind in CHANGE_KINDS:
            continue
        if item.event.commit_sha:
            seen.add(item.event.commit_sha.lower())
        for value in item.event.attributes.values():
            if isinstance(value, str) and 7 <= len(value) <= 40 and all(
                    c in "0123456789abcdefABCDEF" for c in value):
                seen.add(value.lower())
    return seen


def _score(change: Event, start: datetime, services: set[str], shas: set[str]) -> float | None:
    before = start - change.occurred_at
    if before < timedelta(0) or before > LOOKBACK:
        return None
    score = WEIGHTS["time"] * (1 - before / LOOKBACK) + KIND_BONUS.get(change.kind, 0.0)
    if change.service and change.service in services:
        score += WEIGHTS["service"]
    sha = (change.commit_sha or "").lower()
    if sha and any(sha.startswith(s) or s.startswith(sha) for s in shas if len(s) >= 7):
        score += WEIGHTS["sha"]
    return score


def baseline_ranking(store: Store, investigation_id: int, limit: int = 10) -> list[int]:
    """Event ids of the ``limit`` best suspects, as the pre-issue-19 ranking ordered them."""
    inv = store.get_investigation(investigation_id)
    linked = store.investigation_events(investigation_id)
    times = [le.event.occurred_at for le in linked if le.event.kind not in CHANGE_KINDS]
    start = inv.impact_started_at or (min(times) if times else inv.detected_at)
    if start is None:
        return []
    query = EventQuery(kinds=tuple(CHANGE_KINDS), start=start - LOOKBACK,
                       end=start + timedelta(microseconds=1), limit=500)
    services = set(inv.services) | {le.event.service for le in linked if le.event.service}
    shas = _shas_seen(linked)
    scored = [(s, c) for c in store.list_events(query).items
              if (s := _score(c, start, services, shas)) is not None]
    scored.sort(key=lambda sc: (-sc[0], -sc[1].occurred_at.timestamp()))
    return [c.id for _, c in scored[:limit]]
