"""Suspects and where the errors point, as plain models: what the JSON report and the
REST API (``GET /api/investigations/{id}/suspects``) both return."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from storage.models import EventKind
from storage.verdicts import SuspectVerdict
from workbench.correlation import Analysis, Suspect
from workbench.dependencies import ErrorDirection


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScorePart(_Out):
    """One named part of a suspect's score and why it has these points."""

    name: str
    points: float
    reason: str


class SuspectOut(_Out):
    """A ranked change with the parts of its score."""

    event_id: int
    kind: EventKind
    service: str | None
    title: str
    occurred_at: datetime
    commit_sha: str | None
    score: float
    reasons: list[str]
    parts: list[ScorePart]
    verdict: SuspectVerdict | None = None
    """A responder's verdict (``ruled_out`` / ``confirmed``), who gave it and when."""


class TargetOut(_Out):
    """A service the errors point at: how many, since when, by which evidence."""

    service: str
    count: float
    first_at: datetime
    via: dict[str, float]


class ErrorDirectionOut(_Out):
    """Where an investigation's errors point (``examined`` of ``total`` errors)."""

    total: int
    examined: int
    targets: list[TargetOut]


class SuspectsOut(_Out):
    """An investigation's impact start, where its errors point, and its suspects."""

    investigation_id: int
    impact_started_at: datetime | None
    error_direction: ErrorDirectionOut
    suspects: list[SuspectOut]


def suspect_out(suspect: Suspect) -> SuspectOut:
    """The model of one suspect."""
    e = suspect.event
    return SuspectOut(event_id=e.id, kind=e.kind, service=e.service, title=e.title,
                      occurred_at=e.occurred_at, commit_sha=e.commit_sha, score=suspect.score,
                      reasons=list(suspect.reasons),
                      parts=[ScorePart(name=p.name, points=round(p.points, 3), reason=p.reason)
                             for p in suspect.parts],
                      verdict=suspect.verdict)


def direction_out(found: ErrorDirection) -> ErrorDirectionOut:
    """The model of an error picture."""
    return ErrorDirectionOut(total=found.total, examined=found.examined, targets=[
        TargetOut(service=t.service, count=round(t.count, 2), first_at=t.first_at,
                  via={k: round(v, 2) for k, v in t.via.items()}) for t in found.targets])


def suspects_out(investigation_id: int, analysis: Analysis) -> SuspectsOut:
    """The model of an analysis."""
    return SuspectsOut(investigation_id=investigation_id, impact_started_at=analysis.start,
                       error_direction=direction_out(analysis.direction),
                       suspects=[suspect_out(s) for s in analysis.suspects])
