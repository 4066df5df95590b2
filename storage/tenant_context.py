"""Who the current unit of work runs for: the tenant and the teams it may see.

Kept apart from :mod:`storage.visibility` (which applies it to statements) so the
schema (:mod:`storage.tables`) can take a new row's tenant from it without an import
cycle: every tenant-owned table's ``tenant_id`` defaults to :func:`tenant_id`, so an
ORM or Core insert written without the column still lands in the caller's tenant.

The value lives in a context variable: asyncio tasks, ``run_in_threadpool`` and
``copy_context().run`` carry it to the thread that runs the SQL, and each request
starts from the default (the default tenant, every team).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

DEFAULT_TENANT = 1
"""The tenant every store has (migration 0016); a single-user install has only it."""
DEFAULT_TENANT_NAME = "default"


class NoTenantError(RuntimeError):
    """A write ran without a tenant (inside :func:`all_tenants`)."""


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a caller may see: one tenant's rows (``None``: every tenant, for the few
    system tasks that span tenants) and, inside it, the investigations of ``teams``
    (``None``: all)."""

    teams: frozenset[str] | None = None
    tenant_id: int | None = DEFAULT_TENANT

    @property
    def restricted(self) -> bool:
        """Whether any investigation of the tenant is hidden."""
        return self.teams is not None


EVERYTHING = Visibility()
"""The default tenant, every team: a single-user install's only visibility."""
SYSTEM = Visibility(tenant_id=None)
"""Every tenant (token resolution, tenant administration, migrations): reads only."""
_current: ContextVar[Visibility] = ContextVar("workbench_visibility")
_process = [EVERYTHING]
"""What a context that set nothing sees (a thread pool's thread, a new context)."""


def current() -> Visibility:
    """The visibility of the unit of work running now."""
    return _current.get(_process[0])


def set_process_default(visibility: Visibility) -> None:
    """What every context of this process sees unless it sets its own: a process that
    works for one tenant (the TUI, a CLI command) sets it once, so threads that do not
    inherit the caller's context (executors, UI workers) stay in that tenant too."""
    _process[0] = visibility


def set_current(visibility: Visibility) -> None:
    """Set the visibility for the rest of this context (an API request, once)."""
    _current.set(visibility)


@contextmanager
def seeing(visibility: Visibility) -> Iterator[None]:
    """Run a block with ``visibility`` (restored afterwards)."""
    token = _current.set(visibility)
    try:
        yield
    finally:
        _current.reset(token)


def in_tenant(tenant: int) -> Visibility:
    """The current visibility moved to ``tenant`` (a connector's or a pass's tenant)."""
    return replace(current(), tenant_id=tenant)


@contextmanager
def all_tenants() -> Iterator[None]:
    """Run a block that legitimately spans tenants (reads only)."""
    with seeing(SYSTEM):
        yield


def tenant_id() -> int:
    """The tenant a new row belongs to: the current one (never none)."""
    found = current().tenant_id
    if found is None:
        raise NoTenantError("a row was written outside any tenant")
    return found
