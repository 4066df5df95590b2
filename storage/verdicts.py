"""Suspect verdicts: a responder rules a suspect change out, or confirms it as the cause.

A confirmed change becomes the investigation's root cause (its ``root_cause`` text is
set from the change, unless someone wrote one by hand), and only one change per
investigation can be confirmed at a time -- confirming another replaces it. The
ranking (:mod:`workbench.correlation`) and the reports read the verdicts from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage import audit, investigations
from storage.events import NotFoundError, get_event
from storage.models import CHANGE_KINDS, Event, Investigation, UTCDateTime, utcnow, without_nul
from storage.tables import SuspectVerdictRow


class Verdict(StrEnum):
    """What a responder decided about a suspect change."""

    RULED_OUT = "ruled_out"
    CONFIRMED = "confirmed"


class NotAChangeError(ValueError):
    """A verdict was given on an event that is not a change (commit, deploy, pipeline)."""


class SuspectVerdict(BaseModel):
    """One recorded verdict."""

    model_config = ConfigDict(frozen=True)

    investigation_id: int
    event_id: int
    verdict: Verdict
    note: str | None = None
    decided_by: str
    decided_at: UTCDateTime


@dataclass(frozen=True, slots=True)
class VerdictChange:
    """What setting or clearing a verdict did: the verdict now, the one it replaced,
    a confirmed verdict on another change it displaced, and the investigation after."""

    verdict: SuspectVerdict | None
    previous: SuspectVerdict | None
    displaced: SuspectVerdict | None
    investigation: Investigation


def root_cause_text(change: Event) -> str:
    """The root cause a confirmed change stands for, e.g. ``deploy payments: v2 (sha 1a2b3c4)``."""
    text = f"{change.kind.value} {change.service or '-'}: {change.title}"
    return f"{text} (sha {change.commit_sha[:12]})" if change.commit_sha else text


def _model(row: SuspectVerdictRow) -> SuspectVerdict:
    return SuspectVerdict(investigation_id=row.investigation_id, event_id=row.event_id,
                          verdict=Verdict(row.verdict), note=row.note,
                          decided_by=row.decided_by, decided_at=row.decided_at)


def list_verdicts(*, session: Session, investigation_id: int) -> dict[int, SuspectVerdict]:
    """The investigation's verdicts by event id."""
    rows = session.scalars(select(SuspectVerdictRow)
                           .where(SuspectVerdictRow.investigation_id == investigation_id))
    return {r.event_id: _model(r) for r in rows}


def _derived_root_causes(session: Session, verdict: SuspectVerdict | None) -> set[str]:
    if verdict is None or verdict.verdict is not Verdict.CONFIRMED:
        return set()
    try:
        return {root_cause_text(get_event(session=session, event_id=verdict.event_id))}
    except NotFoundError:
        return set()


def set_verdict(*, session: Session, investigation_id: int, event_id: int, verdict: Verdict,
                actor: str, note: str | None = None, now: datetime | None = None
                ) -> VerdictChange:
    """Record ``verdict`` on the change ``event_id`` (replacing an earlier one).

    Confirming a change replaces another change's confirmation and sets the root cause
    (when it is empty or was set by an earlier confirmation).
    """
    now = now or utcnow()
    current = investigations.get_investigation(session=session, investigation_id=investigation_id)
    investigations.lock(session=session, investigation_id=investigation_id)
    change = get_event(session=session, event_id=event_id)
    if change.kind not in CHANGE_KINDS:
        raise NotAChangeError(f"event {event_id} is a {change.kind.value}, not a change "
                              "(commit, deploy or pipeline)")
    existing = list_verdicts(session=session, investigation_id=investigation_id)
    previous = existing.get(event_id)
    displaced = None
    if verdict is Verdict.CONFIRMED:
        displaced = next((v for v in existing.values()
                          if v.verdict is Verdict.CONFIRMED and v.event_id != event_id), None)
    _delete(session, investigation_id, [event_id] + ([displaced.event_id] if displaced else []))
    row = SuspectVerdictRow(investigation_id=investigation_id, event_id=event_id,
                            verdict=verdict.value, note=without_nul(note), decided_by=actor,
                            decided_at=now)
    session.add(row)
    session.flush()
    replaced = _derived_root_causes(session, displaced) | _derived_root_causes(session, previous)
    after = current
    if verdict is Verdict.CONFIRMED and (not current.root_cause or current.root_cause in replaced):
        after = investigations.update_investigation(
            session=session, investigation_id=investigation_id,
            changes={"root_cause": root_cause_text(change)}, now=now)
    elif current.root_cause and current.root_cause in _derived_root_causes(session, previous):
        after = _clear_root_cause(session, investigation_id, now)
    return VerdictChange(_model(row), previous, displaced, after)


def clear_verdict(*, session: Session, investigation_id: int, event_id: int,
                  now: datetime | None = None) -> VerdictChange:
    """Remove the verdict on ``event_id`` (:class:`NotFoundError` if there is none); a
    root cause that came from it is cleared too."""
    current = investigations.get_investigation(session=session, investigation_id=investigation_id)
    investigations.lock(session=session, investigation_id=investigation_id)
    previous = list_verdicts(session=session, investigation_id=investigation_id).get(event_id)
    if previous is None:
        raise NotFoundError(f"no verdict on event {event_id} in investigation "
                            f"{investigation_id}")
    _delete(session, investigation_id, [event_id])
    after = current
    if current.root_cause and current.root_cause in _derived_root_causes(session, previous):
        after = _clear_root_cause(session, investigation_id, now or utcnow())
    return VerdictChange(None, previous, None, after)


def _clear_root_cause(session: Session, investigation_id: int, now: datetime) -> Investigation:
    return investigations.update_investigation(session=session,
                                               investigation_id=investigation_id,
                                               changes={"root_cause": None}, now=now)


def _delete(session: Session, investigation_id: int, event_ids: list[int]) -> None:
    session.execute(delete(SuspectVerdictRow).where(
        SuspectVerdictRow.investigation_id == investigation_id,
        SuspectVerdictRow.event_id.in_(event_ids)))
    session.flush()


def decide(*, session: Session, investigation_id: int, event_id: int, verdict: Verdict | None,
           actor: str, via: str, note: str | None = None, now: datetime | None = None
           ) -> VerdictChange:
    """Set ``verdict`` (``None``: clear it) and audit it in the same transaction: what the
    API, the CLI and the TUI each call, so a verdict means and records the same everywhere."""
    if verdict is None:
        change = clear_verdict(session=session, investigation_id=investigation_id,
                               event_id=event_id, now=now)
    else:
        change = set_verdict(session=session, investigation_id=investigation_id,
                             event_id=event_id, verdict=verdict, actor=actor, note=note, now=now)
    detail: dict[str, object] = {
        "via": via, "event_id": event_id,
        "verdict": change.verdict.verdict.value if change.verdict else None,
        "previous": change.previous.verdict.value if change.previous else None,
        "root_cause": change.investigation.root_cause}
    if change.displaced is not None:
        detail["displaced_event_id"] = change.displaced.event_id
    audit.record(session=session, actor=actor,
                 action="suspect.verdict" if verdict else "suspect.verdict.clear",
                 target=f"investigation:{investigation_id}", detail=detail, now=now)
    return change
