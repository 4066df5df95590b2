"""``/api/audit`` (admin): who changed what through the API or the CLI, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from storage import audit
from storage.audit import AuditEntry
from workbench.api.deps import Admin, Db
from workbench.api.models import storable
from workbench.api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=list[AuditEntry], summary="The audit log")
async def list_audit(_: Admin, db: Db,
                     limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
                     actor: Annotated[str | None, Query(max_length=256)] = None,
                     action: Annotated[str | None, Query(max_length=128)] = None,
                     target: Annotated[str | None, Query(max_length=512)] = None,
                     ) -> list[AuditEntry]:
    """The newest ``limit`` entries with what each change replaced and wrote
    (``before``/``after``) and its chain hash; optionally of one actor (a token name,
    ``cli:<user>``), one action or action prefix (``investigation.``), one target."""
    who, what, on = (None if v is None else storable(v) for v in (actor, action, target))
    return await db.read(lambda s: audit.list_entries(session=s, limit=limit, actor=who,
                                                      action=what, target=on))
