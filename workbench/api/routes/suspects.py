"""``GET /api/investigations/{id}/suspects``: where the errors point and the ranked changes;
``PUT``/``DELETE .../suspects/{event_id}/verdict``: rule a change out or confirm it.

The weights, dependency map and host map are the config's ``[suspects]`` table
(``app.state.suspects``, set by ``workbench serve``); defaults otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from storage import investigations, verdicts
from storage.models import MAX_ID, Investigation
from storage.verdicts import SuspectVerdict, Verdict, VerdictChange
from workbench.api.deps import Db, Responder, Viewer
from workbench.api.problems import PROBLEM_RESPONSES, problem_doc
from workbench.correlation import analyse_in
from workbench.suspect_settings import SuspectSettings
from workbench.suspect_view import SuspectsOut, suspects_out

router = APIRouter(prefix="/api/investigations", tags=["investigations"],
                   responses=PROBLEM_RESPONSES)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No such investigation")}
VERDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: problem_doc("No such investigation, event or verdict")}
InvestigationId = Annotated[int, Path(ge=1, le=MAX_ID, description="investigation id")]
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="the suspect change's event id")]


class VerdictIn(BaseModel):
    """A verdict on a suspect change, with an optional note saying why."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    note: Annotated[str | None, Field(max_length=10_000)] = None


class VerdictOut(BaseModel):
    """The verdict now (``None`` once cleared), the one it replaced, a confirmation on
    another change it displaced, and the investigation after (its root cause)."""

    verdict: SuspectVerdict | None
    previous: SuspectVerdict | None
    displaced: SuspectVerdict | None
    investigation: Investigation


def suspect_settings(request: Request) -> SuspectSettings:
    """The app's ``[suspects]`` settings (defaults when none were given)."""
    settings = getattr(request.app.state, "suspects", None)
    return settings if isinstance(settings, SuspectSettings) else SuspectSettings()


@router.get("/{investigation_id}/suspects", response_model=SuspectsOut, responses=NOT_FOUND,
            summary="Where an investigation's errors point, and its suspect changes")
async def suspects(_: Viewer, db: Db, request: Request,
                   investigation_id: InvestigationId,
                   limit: Annotated[int, Query(ge=1, le=50)] = 10) -> SuspectsOut:
    """Changes ranked by a score that is a sum of named, explained parts, and the
    services the investigation's errors point at (with counts and evidence)."""
    settings = suspect_settings(request)

    def work(session: Session) -> SuspectsOut:
        inv = investigations.get_investigation(session=session,
                                               investigation_id=investigation_id)
        return suspects_out(inv.id, analyse_in(session, inv, settings=settings, limit=limit))

    return await db.read(work)


def _out(change: VerdictChange) -> VerdictOut:
    return VerdictOut(verdict=change.verdict, previous=change.previous,
                      displaced=change.displaced, investigation=change.investigation)


@router.put("/{investigation_id}/suspects/{event_id}/verdict", response_model=VerdictOut,
            responses=VERDICT_ERRORS, summary="Rule a suspect change out, or confirm it")
async def put_verdict(principal: Responder, db: Db, investigation_id: InvestigationId,
                      event_id: EventId, body: VerdictIn) -> VerdictOut:
    """Record the verdict (audited in the same transaction). A confirmed change becomes
    the root cause and replaces any other confirmed change; 422 if the event is not a
    change (commit, deploy, pipeline)."""
    def work(session: Session) -> VerdictOut:
        return _out(verdicts.decide(session=session, investigation_id=investigation_id,
                                    event_id=event_id, verdict=body.verdict,
                                    actor=principal.name, via="api", note=body.note))

    return await db.write(work)


@router.delete("/{investigation_id}/suspects/{event_id}/verdict", status_code=204,
               responses=VERDICT_ERRORS, summary="Withdraw a verdict on a suspect change")
async def delete_verdict(principal: Responder, db: Db, investigation_id: InvestigationId,
                         event_id: EventId) -> Response:
    """Remove the verdict (404 if there is none); a root cause it set is cleared."""
    def work(session: Session) -> None:
        verdicts.decide(session=session, investigation_id=investigation_id,
                        event_id=event_id, verdict=None, actor=principal.name, via="api")

    await db.write(work)
    return Response(status_code=204)
