"""Seen before: past resolved investigations that look like this one, with the reasons.

"This looks like #12 from last month, resolved by rolling back the pool change." Each
past investigation is scored on what the two share -- services, error patterns (the
mined log patterns of their linked lines), alert names and the kind of change that
caused it (its confirmed suspect; for the investigation at hand, its top suspect) --
as a sum of named, explained parts, like the suspects' score. Each part is the
overlap (Jaccard: shared / all) times its weight, so sharing one service of ten
counts for little and sharing every error pattern for a lot. The root cause, the
summary and the notes of each match are shown: what fixed it last time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage import resemblance
from storage.investigations import get_investigation
from storage.models import Investigation
from storage.patterns import get_patterns
from workbench.correlation import Analysis, analyse_in

WEIGHTS = {"services": 3.0, "patterns": 4.0, "alerts": 2.0, "causes": 1.0}
"""Error patterns say most (the same failure), services next (the same place); an alert
name is a coarser sign, and a cause kind (a deploy of checkout) coarser still."""
CANDIDATES = 500


@dataclass(frozen=True, slots=True)
class Match:
    """A past investigation, its score, the reasons, and what it was resolved with."""

    investigation: Investigation
    score: float
    reasons: tuple[str, ...]
    notes: tuple[str, ...]


def _jaccard(mine: set[object], theirs: set[object]) -> float:
    union = mine | theirs
    return len(mine & theirs) / len(union) if union else 0.0


def _names(values: set[str], limit: int = 3) -> str:
    shown = sorted(values)[:limit]
    return ", ".join(shown) + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _reasons(session: Session, mine: resemblance.Features, theirs: resemblance.Features
             ) -> tuple[float, list[str]]:
    score, reasons = 0.0, []
    for part, weight in WEIGHTS.items():
        a, b = getattr(mine, part), getattr(theirs, part)
        overlap = _jaccard(a, b)
        if not overlap:
            continue
        score += weight * overlap
        shared = a & b
        if part == "patterns":
            found = get_patterns(session=session, ids=sorted(shared)[:2])
            shown = "; ".join(p.template[:80] for p in found.values())
            reasons.append(f"{len(shared)} of {len(a | b)} error patterns in common ({shown})")
        elif part == "causes":
            reasons.append(f"caused by the same kind of change: {_names(shared)}")
        else:
            what = "services" if part == "services" else "alerts"
            reasons.append(f"{len(shared)} of {len(a | b)} {what} in common: {_names(shared)}")
    return round(score, 3), reasons


def _current(session: Session, inv: Investigation, analysis: Analysis | None
             ) -> resemblance.Features:
    mine = resemblance.features(session=session, ids=[inv.id])[inv.id]
    if not mine.causes:
        analysis = analysis or analyse_in(session, inv, limit=1)
        if analysis.suspects:
            top = analysis.suspects[0].event
            mine.causes.add(f"{top.kind.value} {top.service or '-'}")
    return mine


def seen_before(session: Session, inv: Investigation, *, limit: int = 5,
                analysis: Analysis | None = None) -> list[Match]:
    """The past resolved investigations most like ``inv``, best first (score > 0 only)."""
    mine = _current(session, inv, analysis)
    past = resemblance.resolved_before(session=session, exclude=inv.id, limit=CANDIDATES)
    scored = []
    for past_id, theirs in resemblance.features(session=session, ids=past).items():
        score, reasons = _reasons(session, mine, theirs) if _overlaps(mine, theirs) \
            else (0.0, [])
        if score > 0:
            scored.append((score, past_id, reasons))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    return [Match(get_investigation(session=session, investigation_id=past_id), score,
                  tuple(reasons),
                  tuple(resemblance.note_titles(session=session, investigation_id=past_id)))
            for score, past_id, reasons in scored[:limit]]


def _overlaps(mine: resemblance.Features, theirs: resemblance.Features) -> bool:
    return any(getattr(mine, part) & getattr(theirs, part) for part in WEIGHTS)


def matches_json(matches: list[Match]) -> list[dict[str, object]]:
    """The matches as JSON-ready data (the API, the JSON report)."""
    return [{"investigation_id": m.investigation.id, "title": m.investigation.title,
             "score": m.score, "reasons": list(m.reasons),
             "root_cause": m.investigation.root_cause, "summary": m.investigation.summary,
             "resolved_at": m.investigation.resolved_at.isoformat()
             if m.investigation.resolved_at else None, "notes": list(m.notes)}
            for m in matches]
