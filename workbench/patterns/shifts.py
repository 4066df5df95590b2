"""Which log patterns are new or surging since the top suspect change.

After "what changed", an on-call engineer asks "what started failing since". The
pivot is the investigation's top suspect (the confirmed change if there is one, as
the ranking puts it first); without suspects, its impact start. The lines of the
investigation's services are counted per pattern in two windows of equal length,
before and after the pivot (after: up to resolution or now, at most a day). A
pattern is **new** when first seen at or after the pivot, **surging** when its rate
after is at least :data:`SURGE` times its rate before (plus one, so a pattern rising
from nothing does not divide by zero) with at least :data:`MIN_LINES` lines. Each
carries its pattern id: the pivot to its lines (``GET /api/patterns/{id}/events``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session

from storage import patterns
from storage.error_direction import linked_services
from storage.models import Investigation, utcnow
from workbench.correlation import Analysis, analyse_in
from workbench.suspect_settings import SuspectSettings

SURGE = 3.0
MIN_LINES = 3
MIN_SPAN = timedelta(minutes=5)
MAX_SPAN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Shift:
    """One pattern's counts before and after the pivot."""

    pattern: patterns.Pattern
    before: int
    after: int
    status: str
    """``new`` or ``surging``."""

    @property
    def ratio(self) -> float:
        """How many times more lines after than before (each plus one)."""
        return (self.after + 1) / (self.before + 1)


@dataclass(frozen=True, slots=True)
class Shifts:
    """The pivot (what and when), the windows, and the shifted patterns, most telling first."""

    pivot: datetime | None
    pivot_reason: str
    start: datetime | None
    end: datetime | None
    services: tuple[str, ...]
    shifts: list[Shift]


def _pivot(session: Session, inv: Investigation, settings: SuspectSettings | None,
           analysis: Analysis | None) -> tuple[datetime | None, str]:
    analysis = analysis or analyse_in(session, inv, settings=settings, limit=1)
    if analysis.suspects:
        change = analysis.suspects[0].event
        return change.occurred_at, (f"top suspect: {change.kind.value} "
                                    f"{change.service or '-'}: {change.title}")
    return analysis.start, "impact start (no suspect changes)"


def _status(pattern: patterns.Pattern, before: int, after: int, pivot: datetime) -> str | None:
    if after and pattern.first_seen >= pivot:
        return "new"
    if after >= MIN_LINES and (after + 1) / (before + 1) >= SURGE:
        return "surging"
    return None


def pattern_shifts(session: Session, inv: Investigation, *,
                   settings: SuspectSettings | None = None, now: datetime | None = None,
                   limit: int = 20, analysis: Analysis | None = None) -> Shifts:
    """The patterns new or surging since the pivot (see the module doc); ``analysis``:
    the investigation's suspects if the caller has ranked them already."""
    pivot, reason = _pivot(session, inv, settings, analysis)
    services = tuple(dict.fromkeys([*inv.services, *linked_services(
        session=session, investigation_id=inv.id)]))
    if pivot is None:
        return Shifts(None, "no suspect change and no impact start", None, None, services, [])
    span = min(max((inv.resolved_at or now or utcnow()) - pivot, MIN_SPAN), MAX_SPAN)
    counts = patterns.counts_around(session=session, services=services, start=pivot - span,
                                    pivot=pivot, end=pivot + span)
    found = patterns.get_patterns(session=session, ids=[p for p, _, _ in counts])
    shifts = [Shift(found[p], before, after, status) for p, before, after in counts
              if (status := _status(found[p], before, after, pivot)) is not None]
    shifts.sort(key=lambda s: (s.status != "new", -s.after if s.status == "new" else -s.ratio,
                               s.pattern.id))
    return Shifts(pivot, reason, pivot - span, pivot + span, services, shifts[:limit])


def shifts_json(found: Shifts) -> dict[str, object]:
    """The shifts as JSON-ready data, each with the route to its lines (the API, reports)."""
    return {
        "pivot": found.pivot.isoformat() if found.pivot else None,
        "pivot_reason": found.pivot_reason,
        "before_from": found.start.isoformat() if found.start else None,
        "after_until": found.end.isoformat() if found.end else None,
        "services": list(found.services),
        "patterns": [{"pattern_id": s.pattern.id, "service": s.pattern.service,
                      "template": s.pattern.template, "status": s.status,
                      "before": s.before, "after": s.after, "ratio": round(s.ratio, 2),
                      "first_seen": s.pattern.first_seen.isoformat(),
                      "lines": f"/api/patterns/{s.pattern.id}/events"
                               + (f"?start={quote(found.pivot.isoformat())}&end="
                                  f"{quote(found.end.isoformat())}"
                                  if found.pivot and found.end else "")}
                     for s in found.shifts],
    }
