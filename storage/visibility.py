"""Which investigations the current caller may see: one definition, applied by the store.

A :class:`Visibility` is set for a unit of work (an API request sets it once, where
the caller is resolved) and every read of the store honours it without the caller
asking, so a new route or repository function cannot forget it:

- every ORM statement run by a ``Session`` (``select``, ``session.get``, joins,
  subqueries, aliases) gets the criteria of :func:`investigation_clause` on
  ``investigation`` and :func:`link_clause` on ``investigation_event`` (a
  ``do_orm_execute`` hook with ``with_loader_criteria``): an investigation outside
  the caller's teams, its links and its timeline are absent, exactly as missing
  ones are (404, empty), so their existence does not leak;
- event queries filtered by ``investigation_id`` (Core and driver-level SQL compiled
  from :mod:`storage.event_sql`, which the ORM hook does not see) add the same
  condition as one more filter (:func:`storage.event_sql.filter_values`).

The default, :data:`EVERYTHING`, adds nothing. The value lives in a context
variable: asyncio tasks, ``run_in_threadpool`` and ``copy_context().run`` carry it
to the thread that runs the SQL, and each request starts from the default.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, event, false, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from storage.tables import InvestigationEventRow, InvestigationRow


@dataclass(frozen=True, slots=True)
class Visibility:
    """The investigations a caller may see: those of ``teams``, or all (``None``)."""

    teams: frozenset[str] | None = None

    @property
    def restricted(self) -> bool:
        """Whether anything is hidden."""
        return self.teams is not None


EVERYTHING = Visibility()
_current: ContextVar[Visibility] = ContextVar("workbench_visibility", default=EVERYTHING)


def current() -> Visibility:
    """The visibility of the unit of work running now."""
    return _current.get()


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


@event.listens_for(Session, "do_orm_execute")
def _restrict(state: ORMExecuteState) -> None:
    teams = _current.get().teams
    if teams is None or not (state.is_select or state.is_update or state.is_delete):
        return
    options: list[Any] = [
        with_loader_criteria(InvestigationRow, investigation_clause(teams), include_aliases=True),
        with_loader_criteria(InvestigationEventRow, link_clause(teams), include_aliases=True),
    ]
    state.statement = state.statement.options(*options)
