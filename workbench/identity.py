"""Who is acting: one place that names the person behind a write.

Every audited change carries an actor: ``cli:<user>`` from the command line,
``tui:<user>`` from the TUI (the API uses the token's name). :func:`actor` builds
both, so the two front ends cannot drift apart. On a shared store the TUI's user is
the OS user, or ``[tui] user`` when several people share one account, or -- when
``[tui] token`` is configured -- the name of that API token, whose role then decides
whether this TUI may write (a viewer's TUI reads only).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from connectors.errors import ConnectorError
from storage import Store, tokens
from workbench.settings.tui import TuiSettings

WRITE_ROLES = frozenset({"responder", "admin"})


class IdentityError(ValueError):
    """The configured TUI token cannot be resolved or is not a live token of this store."""


def os_user() -> str:
    """The OS user name (``""`` in a bare container without a passwd entry)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def actor(via: str, user: str) -> str:
    """The audit actor of a change made through ``via`` (``cli``, ``tui``) by ``user``."""
    return f"{via}:{user}" if user else via


@dataclass(frozen=True)
class Identity:
    """Who sits at this TUI and what they may do."""

    name: str
    """The user: recorded as author, ``linked_by`` and in the audit actor."""
    role: str | None = None
    """The token's role when a token is required; ``None``: no token, writes allowed."""
    tenant_id: int | None = None
    """The token's tenant when a token is required."""
    tenant: str | None = None
    """The name of the tenant this TUI works in, when it is not the default one (the
    investigation list names it: one user may switch between organisations)."""

    @property
    def can_write(self) -> bool:
        """Viewers read only; without a token, the OS account decides (as before)."""
        return self.role is None or self.role in WRITE_ROLES

    @property
    def actor(self) -> str:
        """The audit actor of this TUI's writes."""
        return actor("tui", self.name)

    def refusal(self) -> str:
        """The toast a refused write shows."""
        return (f"token {self.name!r} is a {self.role}: this TUI cannot change anything "
                "(a responder or admin token can)")


def tui_identity(settings: TuiSettings, store: Store) -> Identity:
    """The TUI's identity from ``[tui]``: its token (checked against the store's live
    tokens), else the configured ``user``, else the OS user."""
    if settings.token is None:
        return Identity(name=settings.user or os_user() or "tui")
    try:
        secret = settings.token.resolve()
    except ConnectorError as exc:  # a missing variable or file: the message says which
        raise IdentityError(f"[tui] token: {exc}") from exc
    with store.read() as session:
        live = tokens.authenticate(session=session, token=secret.strip())
    if live is None:
        raise IdentityError(f"[tui] token {settings.token.reference} is not a live token "
                            "of this store (unknown or revoked: see `workbench token list`)")
    return Identity(name=live[0].name, role=live[0].role, tenant_id=live[1])
