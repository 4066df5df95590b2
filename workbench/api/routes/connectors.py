"""``/api/connectors``: status, pause/resume, and the dead-letter queue.

Pause, resume and replay need the running supervisor (its control facade): without
one in this process they answer 503 ``unavailable`` and say so. Listing, reading and
discarding dead letters only need the store.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from connectors.control import Control
from connectors.dlq import UnknownParserError
from storage import NotFoundError, audit, dead_letters
from storage.models import MAX_ID, DeadLetter, DeadLetterStatus
from workbench.api.connector_status import ConnectorStatus, collect
from workbench.api.deps import Admin, Db, Responder, Settings, Viewer
from workbench.api.models import storable
from workbench.api.pagination import CursorParam, LimitParam, PageOut, clamp_limit
from workbench.api.problems import PROBLEM_RESPONSES, ProblemError, problem_doc

router = APIRouter(prefix="/api/connectors", tags=["connectors"], responses=PROBLEM_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=256, description="connector name")]
LetterId = Annotated[int, Path(ge=1, le=MAX_ID, description="dead-letter id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No such connector or entry")}
NEEDS_SUPERVISOR: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 503: problem_doc("No connector supervisor runs in this process")}
PAYLOAD_PREVIEW = 65_536


class DeadLetterOut(BaseModel):
    """A dead letter; the raw payload is base64, with a UTF-8 preview for reading."""

    id: int
    connector: str
    status: DeadLetterStatus
    error_class: str
    message: str
    source_ref: str | None
    attempts: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    payload_base64: str
    payload_preview: str
    payload_bytes: int


def _out(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        id=letter.id, connector=letter.connector, status=letter.status,
        error_class=letter.error_class, message=letter.message, source_ref=letter.source_ref,
        attempts=letter.attempts, first_seen=letter.first_seen, last_seen=letter.last_seen,
        resolved_at=letter.resolved_at, resolved_by=letter.resolved_by,
        payload_base64=base64.b64encode(letter.payload).decode(),
        payload_preview=letter.payload[:PAYLOAD_PREVIEW].decode("utf-8", "replace"),
        payload_bytes=len(letter.payload))


def _letter(session: Session, name: str, letter_id: int) -> DeadLetter:
    letter = dead_letters.get_dead_letter(session=session, letter_id=letter_id)
    if letter.connector != name:  # an id from another connector is not found *here*
        raise NotFoundError(f"dead letter {letter_id} not found for {name!r}")
    return letter


def _control(request: Request) -> Control:
    control: Control | None = request.app.state.control
    if control is None:
        raise ProblemError(503, "unavailable", "no connector supervisor runs in this process; "
                                               "run `workbench serve` to control connectors")
    return control


async def _command(control: Control, method: str, name: str) -> None:
    """``control.pause(name)``/``resume(name)``: blocking until the supervisor's loop ran it."""
    try:
        await run_in_threadpool(getattr(control, method), name)
    except KeyError as exc:
        raise ProblemError(404, "not-found", f"no connector named {name!r}") from exc
    except RuntimeError as exc:  # NotRunningError: the supervisor is stopping
        raise ProblemError(503, "unavailable", "the connector supervisor is not running") \
            from exc


@router.get("/status", response_model=list[ConnectorStatus], summary="Every connector's health")
async def all_status(_: Viewer, db: Db, request: Request) -> list[ConnectorStatus]:
    """Breaker state, counters and DLQ size of each connector."""
    health = request.app.state.health
    return await db.read(lambda s: collect(s, health))


@router.get("/{name}/status", response_model=ConnectorStatus, responses=NOT_FOUND,
            summary="One connector's health")
async def one_status(_: Viewer, db: Db, request: Request, name: Name) -> ConnectorStatus:
    """One connector's health; 404 if no connector of that name is known."""
    health = request.app.state.health
    for status in await db.read(lambda s: collect(s, health)):
        if status.name == name:
            return status
    raise ProblemError(404, "not-found", f"no connector named {name!r}")


async def _pause_resume(principal: Admin, db: Db, request: Request, name: str,
                        action: str) -> ConnectorStatus:
    await _command(_control(request), action, name)

    def work(session: Session) -> None:
        audit.record(session=session, actor=principal.name, action=f"connector.{action}",
                     target=f"connector:{name}")

    await db.write(work)
    return await one_status(principal, db, request, name)


@router.post("/{name}/pause", response_model=ConnectorStatus, responses=NEEDS_SUPERVISOR,
             summary="Pause a connector")
async def pause(principal: Admin, db: Db, request: Request, name: Name) -> ConnectorStatus:
    """Stop polling a connector until it is resumed (needs the supervisor)."""
    return await _pause_resume(principal, db, request, name, "pause")


@router.post("/{name}/resume", response_model=ConnectorStatus, responses=NEEDS_SUPERVISOR,
             summary="Resume a connector")
async def resume(principal: Admin, db: Db, request: Request, name: Name) -> ConnectorStatus:
    """Resume polling a paused connector (needs the supervisor)."""
    return await _pause_resume(principal, db, request, name, "resume")


@router.get("/{name}/dlq", response_model=PageOut[DeadLetterOut], summary="Dead letters")
async def list_dlq(_: Viewer, db: Db, settings: Settings, name: Name,
                   status: DeadLetterStatus | None = DeadLetterStatus.PENDING,
                   limit: LimitParam = None, cursor: CursorParam = None
                   ) -> PageOut[DeadLetterOut]:
    """A connector's dead letters, newest first (pending ones unless ``status`` says)."""
    size = clamp_limit(limit, settings)
    connector = storable(name)
    page = await db.read(lambda s: dead_letters.list_dead_letters(
        session=s, connector=connector, status=status, limit=size, cursor=cursor))
    return PageOut[DeadLetterOut](items=[_out(x) for x in page.items], limit=size,
                                  next_cursor=page.next_cursor)


@router.get("/{name}/dlq/{letter_id}", response_model=DeadLetterOut, responses=NOT_FOUND,
            summary="One dead letter")
async def get_dlq(_: Viewer, db: Db, name: Name, letter_id: LetterId) -> DeadLetterOut:
    """One entry with its raw payload."""
    return _out(await db.read(lambda s: _letter(s, name, letter_id)))


@router.post("/{name}/dlq/{letter_id}/retry", response_model=DeadLetterOut,
             responses={**NEEDS_SUPERVISOR,
                        409: problem_doc("No parser: the connector is not configured")},
             summary="Replay a dead letter")
async def retry(principal: Responder, db: Db, request: Request, name: Name,
                letter_id: LetterId) -> DeadLetterOut:
    """Re-parse the stored payload with the connector's current parser (idempotent).

    The answer is the entry afterwards: ``replayed``, or still ``pending`` with the
    new error in ``message`` and one more attempt.
    """
    await db.read(lambda s: _letter(s, name, letter_id))
    try:
        outcome = await _control(request).areplay(letter_id, by=principal.name)
    except UnknownParserError as exc:  # no connector of that name in the config
        raise ProblemError(409, "conflict", str(exc)) from exc

    del outcome         # audited where it was resolved (storage.dead_letters.resolve)
    return _out(await db.read(lambda s: _letter(s, name, letter_id)))


@router.post("/{name}/dlq/{letter_id}/discard", response_model=DeadLetterOut,
             responses=NOT_FOUND, summary="Discard a dead letter")
async def discard(principal: Admin, db: Db, name: Name, letter_id: LetterId) -> DeadLetterOut:
    """Mark the entry discarded: never replayed, kept for the record (it stays readable,
    with ``status`` ``discarded``). A state change like a replay, hence a ``POST`` -- a
    ``DELETE`` would promise the entry is gone. Discarding a discarded entry changes
    nothing. The answer is the entry afterwards."""
    def work(session: Session) -> DeadLetterOut:
        _letter(session, name, letter_id)
        dead_letters.resolve(session=session, letter_id=letter_id,
                             status=DeadLetterStatus.DISCARDED, by=principal.name)
        return _out(_letter(session, name, letter_id))

    return await db.write(work)
