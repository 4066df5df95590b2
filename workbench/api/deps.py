"""``Annotated`` dependencies: the caller's role, the database, the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from workbench.api.auth import Principal, Role, bearer_scheme, check_role
from workbench.api.db import Database
from workbench.api.settings import ApiSettings

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def _principal(request: Request, credentials: Credentials, needed: Role) -> Principal:
    principal = await request.app.state.authenticator.authenticate(request, credentials)
    return check_role(principal, needed)


async def viewer(request: Request, credentials: Credentials) -> Principal:
    """Any valid token."""
    return await _principal(request, credentials, Role.VIEWER)


async def responder(request: Request, credentials: Credentials) -> Principal:
    """A responder or admin token."""
    return await _principal(request, credentials, Role.RESPONDER)


async def admin(request: Request, credentials: Credentials) -> Principal:
    """An admin token."""
    return await _principal(request, credentials, Role.ADMIN)


def get_db(request: Request) -> Database:
    """The app's :class:`Database`."""
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> ApiSettings:
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
