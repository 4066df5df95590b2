"""API tokens: only a SHA-256 of each token is stored; the token itself is shown once.

Tokens carry 256 bits of randomness, so a fast unsalted hash is enough: nobody can
brute-force the preimage, and a slow KDF would cost CPU on every request. Lookup is
by hash, so no secret is ever compared byte by byte in Python.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.events import NotFoundError
from storage.models import UTCDateTime, utcnow
from storage.tables import ApiTokenRow
from storage.tenant_context import all_tenants

PREFIX = "iwb_"
"""Every token starts with this, so secret scanners and log scrubbers can spot one."""
ROLES = ("viewer", "responder", "admin")


class TokenExistsError(ValueError):
    """A token with this name already exists."""


class ApiToken(BaseModel):
    """A stored token (never the secret)."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    role: str
    team: str | None = None
    """The team inside the tenant (what a viewer sees under ``viewers_see = "own_team"``)."""
    created_at: UTCDateTime
    last_used_at: UTCDateTime | None = None
    revoked_at: UTCDateTime | None = None


def check_team(team: str) -> str:
    """``team`` if it is a valid team name (1-256 printable characters), else ValueError."""
    if not (0 < len(team) <= 256 and team.isprintable()):
        raise ValueError("a team is 1 to 256 printable characters")
    return team


def generate_token() -> str:
    """A new random token: prefix, 256 random bits, and a CRC32 check suffix."""
    body = secrets.token_urlsafe(32)
    return f"{PREFIX}{body}_{zlib.crc32(body.encode()):08x}"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _model(row: ApiTokenRow) -> ApiToken:
    return ApiToken(id=row.id, name=row.name, role=row.role, team=row.team,
                    created_at=row.created_at,
                    last_used_at=row.last_used_at, revoked_at=row.revoked_at)


def create_token(*, session: Session, name: str, role: str, team: str | None = None,
                 now: datetime | None = None) -> tuple[ApiToken, str]:
    """Store a new token; return it and the secret (the only time the secret exists)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if team is not None:
        check_team(team)
    if session.scalar(select(ApiTokenRow.id).where(ApiTokenRow.name == name)) is not None:
        raise TokenExistsError(f"a token named {name!r} already exists")
    secret = generate_token()
    row = ApiTokenRow(name=name, role=role, team=team, token_hash=hash_token(secret),
                      created_at=now or utcnow())
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise TokenExistsError(f"a token named {name!r} already exists") from exc
    return _model(row), secret


def list_tokens(*, session: Session) -> list[ApiToken]:
    """Every token, revoked ones included, oldest first."""
    return [_model(r) for r in session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))]


def revoke_token(*, session: Session, name: str, now: datetime | None = None) -> ApiToken:
    """Revoke a token by name; it is refused from the next request on."""
    row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.name == name)).first()
    if row is None:
        raise NotFoundError(f"no token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return _model(row)


def authenticate(*, session: Session, token: str) -> tuple[ApiToken, int] | None:
    """The live token whose hash matches ``token`` and its tenant, or ``None``.

    Across tenants: the token is what says which tenant the caller is in.
    """
    with all_tenants():
        row = session.scalars(select(ApiTokenRow).where(
            ApiTokenRow.token_hash == hash_token(token),
            ApiTokenRow.revoked_at.is_(None))).first()
    return None if row is None else (_model(row), row.tenant_id)


def touch(*, session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record that a token was used (by id, whichever tenant holds it: the caller is
    the token check, before any tenant is set)."""
    with all_tenants():
        session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id)
                        .values(last_used_at=now or utcnow()))
