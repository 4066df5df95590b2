"""``Annotated`` dependencies: the caller's role, the database, the settings.

Resolving the caller also sets what it may see for the rest of the request
(:func:`enter_visibility`, from ``[access]``); the store applies it to every read
(:mod:`storage.visibility`), so no route filters investigations by team itself.

The role dependencies are :class:`HTTPBearer` subclasses, so FastAPI documents one
``bearer`` security scheme on every ``/api`` operation (schemathesis checks that
each one really refuses a missing token), and resolving a caller costs one
dependency rather than a chain of three (dependency solving dominates a hot route).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from storage import visibility
from workbench.api.auth import Principal, Role, check_role
from workbench.api.db import Database
from workbench.settings.api import ApiSettings

SCHEME = "bearer"


class RoleBearer(HTTPBearer):
    """A bearer token whose role is at least ``role``."""

    def __init__(self, role: Role) -> None:
        super().__init__(auto_error=False, scheme_name=SCHEME,
                         description="`Authorization: Bearer <token>` from "
                                     "`workbench token create`")
        self.role = role

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        """The authenticated caller, or a 401/403/429 problem."""
        principal = request.scope.get("state", {}).get("principal")
        if principal is None:  # not authenticated at the edge (an app without the middleware)
            credentials = await super().__call__(request)
            principal = await request.app.state.authenticator.authenticate(request, credentials)
        return enter_visibility(request, check_role(principal, self.role))


def enter_visibility(request: Request, principal: Principal) -> Principal:
    """Set what ``principal`` may see for the rest of this request; return it.

    Set every time (not only when restricted), so nothing carries over between
    requests whatever the server does with contexts.
    """
    visibility.set_current(request.app.state.access.visibility(
        principal.role, principal.team, principal.tenant_id))
    return principal


viewer = RoleBearer(Role.VIEWER)
responder = RoleBearer(Role.RESPONDER)
admin = RoleBearer(Role.ADMIN)


async def get_db(request: Request) -> Database:
    """The app's :class:`Database` (``async``: a sync dependency would cost a thread hop)."""
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> ApiSettings:
    """The app's :class:`ApiSettings`."""
    settings: ApiSettings = request.app.state.settings
    return settings


Viewer = Annotated[Principal, Depends(viewer)]
Responder = Annotated[Principal, Depends(responder)]
Admin = Annotated[Principal, Depends(admin)]
Db = Annotated[Database, Depends(get_db)]
Settings = Annotated[ApiSettings, Depends(get_settings)]

ROLE_DEPENDENCIES = {viewer: Role.VIEWER, responder: Role.RESPONDER, admin: Role.ADMIN}
"""Every ``/api`` route depends on exactly one of these; a test checks it."""
