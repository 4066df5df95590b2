"""``/api/tokens`` (admin): list, create (the secret is in that one response) and revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from storage import NotFoundError, audit, tenants, tokens, visibility
from storage.tokens import ApiToken, TokenExistsError
from workbench.api.auth import Principal
from workbench.api.deps import Admin, Db
from workbench.api.models import storable
from workbench.api.problems import PROBLEM_RESPONSES, ProblemError, problem_doc

router = APIRouter(prefix="/api/tokens", tags=["tokens"], responses=PROBLEM_RESPONSES)
TokenName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@-]+$")]


class NewToken(BaseModel):
    """A token to create."""

    model_config = ConfigDict(extra="forbid")

    name: TokenName
    role: Literal["viewer", "responder", "admin"]
    team: Annotated[str, Field(min_length=1, max_length=256,
                               pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"),
                    AfterValidator(tokens.check_team)] | None = None
    """The team inside the tenant (``[teams]``): what a viewer sees under
    ``[access] viewers_see = "own_team"``."""
    tenant: Annotated[str, Field(min_length=1, max_length=128),
                      AfterValidator(tenants.check_name)] | None = None
    """The tenant the token belongs to (``workbench tenant create``); default: the
    caller's. Only an admin of the default tenant (the deployment's) names another;
    to any other admin, another tenant does not exist (404)."""


class CreatedToken(BaseModel):
    """The new token; ``token`` is shown here once and never again."""

    token: str
    info: ApiToken


@router.get("", response_model=list[ApiToken], summary="List tokens")
async def list_tokens(_: Admin, db: Db) -> list[ApiToken]:
    """Every token (never the secret), revoked ones included."""
    return await db.read(lambda s: tokens.list_tokens(session=s))


@router.post("", response_model=CreatedToken, status_code=201, summary="Create a token",
             responses={409: problem_doc("A token with this name exists"),
                        404: problem_doc("No tenant with this name (or not one the caller "
                                         "may name)")})
async def create_token(principal: Admin, db: Db, body: NewToken) -> CreatedToken:
    """Create a token; the secret is in this response only."""
    def work(session: Session) -> CreatedToken:
        tenant = _target_tenant(session, principal, body.tenant)
        with visibility.seeing(visibility.in_tenant(tenant)):
            info, secret = tokens.create_token(session=session, name=body.name,
                                               role=body.role, team=body.team)
            # Audited in the token's tenant (its chain), naming the creator.
            audit.record(session=session, actor=principal.name, action="token.create",
                         target=f"token:{body.name}", detail={"role": body.role},
                         after={"name": info.name, "role": info.role, "team": info.team,
                                **({"tenant": body.tenant} if body.tenant else {})})
        return CreatedToken(token=secret, info=info)

    try:
        return await db.write(work)
    except TokenExistsError as exc:
        raise ProblemError(409, "conflict", str(exc)) from exc


def _target_tenant(session: Session, principal: Principal, name: str | None) -> int:
    """The tenant a new token goes to: the caller's, or the named one for an admin of
    the default tenant (404 otherwise, as for a tenant that does not exist)."""
    if name is None:
        return principal.tenant_id
    try:
        found = tenants.tenant_id_by_name(session=session, name=name)
    except NotFoundError:
        found = None
    if found is None or (found != principal.tenant_id
                         and principal.tenant_id != visibility.DEFAULT_TENANT):
        raise ProblemError(404, "not-found", f"no tenant named {name!r}")
    return found


@router.delete("/{name}", status_code=204, summary="Revoke a token",
               responses={404: problem_doc("No token with this name"),
                          409: problem_doc("The last admin token, or the token making "
                                           "the request, cannot be revoked")})
async def revoke_token(principal: Admin, db: Db, request: Request,
                       name: Annotated[str, Path(min_length=1, max_length=128)]) -> Response:
    """Revoke a token; it is refused from the next request on.

    The last live admin token is kept (409): without it nobody could manage tokens
    or connectors through the API any more. Nor does a token revoke itself (409): a
    client doing so cuts itself off mid-session (a stateful fuzzer did, on its first
    run); another admin token, or ``workbench token revoke`` on the host, can.
    """
    def work(session: Session) -> Any:
        _keep_an_admin(session, storable(name))
        if principal.name == name:
            raise ProblemError(409, "conflict",
                               f"{name!r} is the token making this request; revoke it with "
                               "another admin token, or `workbench token revoke NAME` on "
                               "the host")
        tokens.revoke_token(session=session, name=storable(name))
        audit.record(session=session, actor=principal.name, action="token.revoke",
                     target=f"token:{name}")

    await db.write(work)
    request.app.state.authenticator.cache.clear()  # refused from the next request on
    return Response(status_code=204)


def _keep_an_admin(session: Session, name: str) -> None:
    """409 if ``name`` is the only live admin token (checked in the revoking transaction)."""
    live_admins = [t.name for t in tokens.list_tokens(session=session)
                   if t.role == "admin" and t.revoked_at is None]
    if live_admins == [name]:
        raise ProblemError(409, "conflict",
                           f"{name!r} is the last admin token; create another admin token "
                           "first (POST /api/tokens with role admin, or `workbench token "
                           "create --role admin --name NAME`), then revoke this one")
