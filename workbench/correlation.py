"""Suspect ranking: which changes (commits, CI runs, deploys) most likely caused an incident.

Every score is explained: a suspect carries the reasons that make it up, so a
responder can see *why* a change is ranked where it is. The signals, after
PagerDuty's "related changes" and incident.io's change correlation:

- **time**: changes shortly before impact start score higher (linear decay over the
  look-back window; changes after impact start are not suspects);
- **service**: the change touches a service of the investigation;
- **sha seen**: the change's commit sha (or its 7-char short form) appears on events
  linked to the investigation — deploy version tags on errors, trace attributes;
- **deploy**: a deploy is what actually changed production, so it outranks the commit
  that it ships, which in turn outranks a pipeline run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.linked import linked_evidence
from storage.models import CHANGE_KINDS, Event, EventKind, Investigation, LinkedEvent
from storage.queries import EventQuery
from storage.store import Store

WEIGHTS = {"time": 2.0, "service": 1.5, "sha": 2.5}
KIND_BONUS = {EventKind.DEPLOY: 1.0, EventKind.COMMIT: 0.6, EventKind.PIPELINE: 0.2}
DEFAULT_LOOKBACK = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Suspect:
    """A change ranked against an investigation, with the reasons for its score."""

    event: Event
    score: float
    reasons: tuple[str, ...]


def impact_start(investigation: Investigation, linked: Iterable[LinkedEvent]) -> datetime | None:
    """When impact began: the typed timestamp, else the first linked non-change event."""
    if investigation.impact_started_at is not None:
        return investigation.impact_started_at
    times = [le.event.occurred_at for le in linked if le.event.kind not in CHANGE_KINDS]
    return min(times) if times else investigation.detected_at


def _shas_seen(linked: Iterable[LinkedEvent]) -> set[str]:
    changes = [item.event for item in linked if item.event.kind not in CHANGE_KINDS]
    return _shas({e.commit_sha for e in changes if e.commit_sha},
                 [e.attributes for e in changes])


def _shas(commit_shas: Iterable[str], attributes: Iterable[Mapping[str, object]]) -> set[str]:
    """Shas seen on the incident's (non-change) events: their commit shas, and
    attribute values of 7-40 hex digits (deploy version tags, trace attributes)."""
    seen = {sha.lower() for sha in commit_shas}
    for attrs in attributes:
        for value in attrs.values():
            if isinstance(value, str) and 7 <= len(value) <= 40 and _is_hex(value):
                seen.add(value.lower())
    return seen


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in value)


def score_change(change: Event, *, start: datetime, lookback: timedelta,
                 services: set[str], shas: set[str]) -> Suspect | None:
    """Score one change against an impact start; ``None`` if it cannot be a suspect."""
    before = start - change.occurred_at
    if before < timedelta(0) or before > lookback:
        return None
    minutes = int(before.total_seconds() // 60)
    closeness = 1 - before / lookback
    score = WEIGHTS["time"] * closeness + KIND_BONUS.get(change.kind, 0.0)
    reasons = [f"{change.kind.value} {minutes} min before impact"]
    if change.service and change.service in services:
        score += WEIGHTS["service"]
        reasons.append(f"same service ({change.service})")
    sha = (change.commit_sha or "").lower()
    if sha and any(sha.startswith(s) or s.startswith(sha) for s in shas if len(s) >= 7):
        score += WEIGHTS["sha"]
        reasons.append(f"sha {sha[:7]} seen on the incident's events")
    return Suspect(change, round(score, 3), tuple(reasons))


def rank_suspects(store: Store, investigation: Investigation, *,
                  lookback: timedelta = DEFAULT_LOOKBACK, limit: int = 10) -> list[Suspect]:
    """The ``limit`` most suspicious changes before the investigation's impact start.

    The linked events are read as aggregates (:func:`storage.linked.linked_evidence`),
    so the cost does not grow with an investigation of half a million events.
    """
    with store.read() as session:
        evidence = linked_evidence(session=session, investigation_id=investigation.id)
    start = investigation.impact_started_at or evidence.first_effect_at \
        or investigation.detected_at
    if start is None:
        return []
    query = EventQuery(kinds=tuple(CHANGE_KINDS), start=start - lookback,
                       end=start + timedelta(microseconds=1), limit=500)
    changes = store.list_events(query).items
    services = set(investigation.services) | evidence.services
    shas = _shas(evidence.commit_shas, evidence.attributes)
    scored = [s for c in changes if (s := score_change(c, start=start, lookback=lookback,
                                                       services=services, shas=shas))]
    scored.sort(key=lambda s: (-s.score, -s.event.occurred_at.timestamp()))
    return scored[:limit]
