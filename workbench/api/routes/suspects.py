"""``GET /api/investigations/{id}/suspects``: where the errors point and the ranked changes.

The weights, dependency map and host map are the config's ``[suspects]`` table
(``app.state.suspects``, set by ``workbench serve``); defaults otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.orm import Session

from storage import investigations
from workbench.api.deps import Db, Viewer
from workbench.api.problems import PROBLEM_RESPONSES, problem_doc
from workbench.correlation import analyse_in
from workbench.suspect_settings import SuspectSettings
from workbench.suspect_view import SuspectsOut, suspects_out

router = APIRouter(prefix="/api/investigations", tags=["investigations"],
                   responses=PROBLEM_RESPONSES)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No such investigation")}


def suspect_settings(request: Request) -> SuspectSettings:
    """The app's ``[suspects]`` settings (defaults when none were given)."""
    settings = getattr(request.app.state, "suspects", None)
    return settings if isinstance(settings, SuspectSettings) else SuspectSettings()


@router.get("/{investigation_id}/suspects", response_model=SuspectsOut, responses=NOT_FOUND,
            summary="Where an investigation's errors point, and its suspect changes")
async def suspects(_: Viewer, db: Db, request: Request,
                   investigation_id: Annotated[int, Path(ge=1, le=2**62)],
                   limit: Annotated[int, Query(ge=1, le=50)] = 10) -> SuspectsOut:
    """Changes ranked by a score that is a sum of named, explained parts, and the
    services the investigation's errors point at (with counts and evidence)."""
    settings = suspect_settings(request)

    def work(session: Session) -> SuspectsOut:
        inv = investigations.get_investigation(session=session,
                                               investigation_id=investigation_id)
        return suspects_out(inv.id, analyse_in(session, inv, settings=settings, limit=limit))

    return await db.read(work)
