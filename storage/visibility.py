"""What the current caller may see: one definition, applied by the store.

A :class:`Visibility` (:mod:`storage.tenant_context`) is set for a unit of work (an
API request sets it once, where the caller is resolved; a connector, the grouper and
the CLI run in their configured tenant) and every statement of the store honours it
without the caller asking, so a new route or repository function cannot forget it:

- **Tenants.** Every ORM statement run by a ``Session`` (``select``, ``session.get``,
  joins, subqueries, aliases, ORM ``update``/``delete``) gets ``tenant_id = :t`` on
  every mapped table of :class:`storage.tables.TenantOwned` (a ``do_orm_execute``
  hook with ``with_loader_criteria``), always. Core statements (run on
  ``session.connection()``, compiled pages, driver-level SQL), which the hook does
  not see, add :func:`tenant_clause` (:mod:`storage.event_sql` puts it in every event
  page's shape). New rows take the current tenant from the column default.
  Another tenant's rows are absent, exactly as missing ones are (404, empty).
- **Teams inside a tenant.** With a restricted caller, the criteria of
  :func:`investigation_clause` on ``investigation`` and :func:`link_clause` on
  ``investigation_event``; event queries filtered by ``investigation_id`` add the
  same condition as one more filter (:func:`storage.event_sql.filter_values`).

The default, :data:`EVERYTHING`, is the default tenant with every team: a
single-user install never sees the concept. :data:`SYSTEM` (every tenant) is for the
few reads that must span tenants (resolving a token, listing tenants, migrations).
The test suite fails any statement on a tenant table that names no ``tenant_id``
(``tests/tenant_guard.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, bindparam, event, false, select, true
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from storage.tables import InvestigationEventRow, InvestigationRow, TenantOwned
from storage.tenant_context import (
    DEFAULT_TENANT,
    DEFAULT_TENANT_NAME,
    EVERYTHING,
    SYSTEM,
    NoTenantError,
    Visibility,
    all_tenants,
    current,
    in_tenant,
    seeing,
    set_current,
    set_process_default,
    tenant_id,
)

__all__ = ["DEFAULT_TENANT", "DEFAULT_TENANT_NAME", "EVERYTHING", "SYSTEM", "TENANT_PARAM",
           "NoTenantError", "Visibility", "all_tenants", "current", "in_tenant",
           "investigation_clause", "link_clause", "seeing", "set_current",
           "set_process_default", "teams_clause",
           "tenant_clause", "tenant_id", "tenant_param", "tenant_values"]

TENANT_PARAM = "current_tenant"
"""The bind name of the caller's tenant in statements built once (:func:`tenant_param`)."""


def tenant_clause(table: Any) -> ColumnElement[bool]:
    """``table.tenant_id = <the current tenant>`` for a Core statement (the value bound
    now); nothing for :data:`SYSTEM`. ``table``: a mapped class, table or alias."""
    found = current().tenant_id
    if found is None:
        return true()
    try:
        return _tenant_clause(table, found)
    except TypeError:  # an unhashable table expression: built each time
        clause: ColumnElement[bool] = _column(table) == found
        return clause


@functools.lru_cache(maxsize=1024)
def _tenant_clause(table: Any, tenant: int) -> ColumnElement[bool]:
    """Built once per table and tenant (statements are immutable, so one clause can be
    shared): building it cost a tenth of a by-id read."""
    clause: ColumnElement[bool] = _column(table) == tenant
    return clause


def tenant_param(table: Any) -> ColumnElement[bool]:
    """:func:`tenant_clause` with a named parameter, for statements built once; execute
    them with :func:`tenant_values`."""
    clause: ColumnElement[bool] = _column(table) == bindparam(TENANT_PARAM)
    return clause


def tenant_values() -> dict[str, int]:
    """The parameter :func:`tenant_param` names (``-1``, no tenant, under :data:`SYSTEM`)."""
    found = current().tenant_id
    return {TENANT_PARAM: -1 if found is None else found}


def _column(table: Any) -> Any:
    if isinstance(table, FromClause):
        return table.c.tenant_id
    return table.tenant_id


def investigation_clause(teams: frozenset[str]) -> ColumnElement[bool]:
    """The investigations of ``teams`` (none for no team: a viewer without a team sees
    no investigation rather than all of them)."""
    return teams_clause(sorted(teams))


def teams_clause(teams: Sequence[Any]) -> ColumnElement[bool]:
    """:func:`investigation_clause` over team names or bind parameters standing for them."""
    if not teams:
        return false()
    return InvestigationRow.team.in_(list(teams))


def link_clause(teams: frozenset[str]) -> ColumnElement[bool]:
    """The links whose investigation is visible."""
    return InvestigationEventRow.investigation_id.in_(
        select(InvestigationRow.id).where(investigation_clause(teams)))


@functools.lru_cache(maxsize=1024)
def _tenant_option(tenant: int) -> Any:
    """The loader criteria of one tenant, built once: building it (and analysing its
    lambda) per statement cost more than the statement on a hot ORM read."""
    return with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant,
                                include_aliases=True)


@event.listens_for(Session, "do_orm_execute")
def _restrict(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    seen = current()
    tenant = seen.tenant_id
    options: list[Any] = []
    if tenant is not None:
        options.append(_tenant_option(tenant))
    if seen.teams is not None:
        options += [
            with_loader_criteria(InvestigationRow, investigation_clause(seen.teams),
                                 include_aliases=True),
            with_loader_criteria(InvestigationEventRow, link_clause(seen.teams),
                                 include_aliases=True),
        ]
    if options:
        state.statement = state.statement.options(*options)
