"""Bearer-token authentication and role checks.

A token is looked up by its SHA-256 (see ``storage.tokens``): there is no secret
comparison in Python to time. Roles are ordered viewer < responder < admin; a
viewer reads, a responder also writes investigations, events and notes and replays
the DLQ, an admin also manages connectors and tokens. The token itself is never
logged or stored; a principal is named by the token's ``name``.

Failed tokens are throttled by what is being guessed, plus the address: on a
bastion every user is 127.0.0.1, so an address alone would let one guesser lock
everyone out. A token whose first characters (:data:`PREFIX_CHARS`, 48 bits of its
secret) belong to a token that has authenticated before is a known user's token,
perhaps mistyped: its failures count in a bucket of that prefix and address.
Anything else is a guess: its failures count in the address's bucket, and while
that bucket is empty such tokens get 429 without being looked up. So a guesser
meets 429 at once while known users keep working, and a user's typo costs only
that user. (A token never seen since the server started shares the guessers'
bucket until it succeeds once.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from storage import tokens
from storage.visibility import DEFAULT_TENANT
from workbench.api.db import Database
from workbench.api.problems import ProblemError
from workbench.api.ratelimit import TokenBucketLimiter, retry_after_header
from workbench.api.token_cache import Found, TokenCache

log = logging.getLogger(__name__)
TOUCH_EVERY_SECONDS = 60.0
MAX_TOKEN_LENGTH = 256
PREFIX_CHARS = 12
"""``iwb_`` and 8 characters of the secret: enough to tell users apart, useless to guess with."""
KNOWN_PREFIXES = 10_000


class Role(StrEnum):
    """What a token may do; each role includes the ones below it."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for responder, 2 for admin."""
        return _RANK[self]


_RANK = {Role.VIEWER: 0, Role.RESPONDER: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, name, role, team and tenant."""

    token_id: int
    name: str
    role: Role
    team: str | None = None
    tenant_id: int = DEFAULT_TENANT
    """Every row the caller reads or writes is this tenant's (:mod:`storage.visibility`)."""


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`, or a 401/429 problem."""

    def __init__(self, db: Database, limiter: TokenBucketLimiter,
                 failures: TokenBucketLimiter, *, cache_seconds: float = 5.0) -> None:
        self._db = db
        self.cache = TokenCache(cache_seconds)
        """Recent successes (see ``workbench.api.token_cache``); cleared on a revocation."""
        self._limiter = limiter
        self._failures = failures
        self._touched: dict[int, float] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._known: OrderedDict[str, None] = OrderedDict()

    async def authenticate(self, request: Request,
                           credentials: HTTPAuthorizationCredentials | None) -> Principal:
        """The caller, after authentication and rate limiting."""
        principal: Principal | None = request.scope.get("state", {}).get("principal")
        if principal is not None:  # authenticated at the edge (workbench.api.middleware)
            return principal
        client = request.client.host if request.client else "unknown"
        return await self.authenticate_secret(
            credentials.credentials if credentials is not None else None, client)

    async def authenticate_secret(self, secret: str | None, client: str) -> Principal:
        """The caller with bearer token ``secret`` from address ``client``, after
        authentication and rate limiting (what :meth:`authenticate` does for a request)."""
        if not secret:
            raise ProblemError(401, "unauthorized", "send `Authorization: Bearer <token>`",
                               headers={"WWW-Authenticate": "Bearer"})
        guessed = self._guess_key(client, secret)
        wait = self._failures.wait(guessed)
        if wait > 0:
            raise _too_many(wait)
        found = await self._lookup(secret) if len(secret) <= MAX_TOKEN_LENGTH else None
        if found is None:
            raise self._refusal(guessed, "the token is not valid (unknown or revoked)")
        self._remember(secret[:PREFIX_CHARS])
        token_id, name, role, team, tenant = found
        wait = self._limiter.take(f"token:{token_id}")
        if wait > 0:
            raise ProblemError(429, "rate-limited", f"rate limit exceeded for token {name}",
                               headers={"Retry-After": retry_after_header(wait)})
        self._touch(token_id)
        return Principal(token_id, name, Role(role), team, tenant)

    async def _lookup(self, secret: str) -> Found | None:
        token_hash = tokens.hash_token(secret)
        fast = self._db.fast
        stamp = fast.data_version() if fast.enabled else None  # see token_cache
        cached = self.cache.get(token_hash, stamp)
        if cached is not None:
            return cached
        generation = self.cache.generation
        if fast.enabled:  # one indexed lookup: keep it cheap
            found = fast.token(token_hash)
        else:
            live = await self._db.read(lambda s: tokens.authenticate(session=s, token=secret))
            found = None if live is None else (live[0].id, live[0].name, live[0].role,
                                               live[0].team, live[1])
        if found is not None:
            self.cache.put(token_hash, found, generation, stamp)
        return found

    def _guess_key(self, client: str, secret: str) -> str:
        """The bucket a failure of ``secret`` counts in (see the module's docstring)."""
        prefix = secret[:PREFIX_CHARS]
        return f"prefix:{prefix}:{client}" if prefix in self._known else f"client:{client}"

    def _remember(self, prefix: str) -> None:
        known = self._known
        if prefix in known:
            known.move_to_end(prefix)
            return
        known[prefix] = None
        if len(known) > KNOWN_PREFIXES:
            known.popitem(last=False)

    def _refusal(self, guessed: str, detail: str) -> ProblemError:
        # Wrong tokens are throttled harder than normal traffic: that is what guessing
        # looks like. A missing header is not counted.
        wait = self._failures.take(guessed)
        if wait > 0:
            return _too_many(wait)
        return ProblemError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})

    def _touch(self, token_id: int) -> None:
        """Record ``last_used_at`` at most once a minute, off the request's path."""
        now = time.monotonic()
        if now - self._touched.get(token_id, -TOUCH_EVERY_SECONDS) < TOUCH_EVERY_SECONDS:
            return
        self._touched[token_id] = now
        task = asyncio.get_running_loop().create_task(self._record_use(token_id))
        self._background.add(task)  # a reference, so the task is not collected mid-way
        task.add_done_callback(self._background.discard)

    async def _record_use(self, token_id: int) -> None:
        def work(session: Session) -> None:
            tokens.touch(session=session, token_id=token_id)

        try:
            # A write may wait for the store's write lock: never make a request wait on it.
            await self._db.write(work)
        except Exception:  # noqa: BLE001 - bookkeeping must not fail anything
            log.warning("could not record token use", exc_info=True)


def _too_many(wait: float) -> ProblemError:
    return ProblemError(429, "rate-limited", "too many failed authentications; retry later",
                        headers={"Retry-After": retry_after_header(wait)})


def check_role(principal: Principal, needed: Role) -> Principal:
    """``principal`` if its role is at least ``needed``, else a 403 problem."""
    if principal.role.rank < needed.rank:
        raise ProblemError(403, "forbidden",
                           f"this needs the {needed} role; token {principal.name!r} is "
                           f"{principal.role}")
    return principal
