"""Changes that could have caused an incident: commits, pipelines and deploys that ran.

A CI run or deploy that was skipped, cancelled, left waiting for a manual action or
approval, or only created, changed nothing in production, so it is never a suspect.
:data:`NEVER_RAN` is the one definition of that: attribute key -> values (compared
case-insensitively) that mark a change as never run. The SQL predicate
(:func:`never_ran_clause`) and the in-memory one (:func:`never_ran`) are both derived
from it, and a test checks they agree on both engines. CI parsers that learn a new
marker add it here, once.

The markers: the CI connectors' own (``connectors.ci.common``: ``ran = false``, phase
``not_run``), what they stored before those existed (``result`` and
``cicd.pipeline.result`` from GitHub conclusions and GitLab statuses, GitLab's raw
``status``), and the names the providers themselves use (``conclusion``, ``state``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    cast,
    false,
    func,
    not_,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from storage import dialects
from storage.converters import EVENT_READ_COLUMNS, event_from_tuple
from storage.models import Event
from storage.tables import CHANGE_KINDS_SQL, EventRow

_NOT_RUN = frozenset({"skipped", "canceled", "cancelled", "manual", "waiting", "created",
                      "waiting_for_resource", "scheduled", "action_required", "not_run"})
NEVER_RAN: Mapping[str, frozenset[str]] = {
    "phase": frozenset({"not_run"}),
    "result": _NOT_RUN,
    "cicd.pipeline.result": _NOT_RUN,
    "conclusion": _NOT_RUN,
    "status": _NOT_RUN,
    "state": _NOT_RUN,
}
"""Attribute key -> lower-case values meaning "this change never ran"."""
RAN_FLAG = "ran"
"""The CI connectors' own marker (``connectors.ci.common``): ``false`` = never ran."""

MAX_CHANGES = 2_000
"""Changes read per window: a look-back busier than this keeps the most recent."""


def never_ran(attributes: Mapping[str, Any]) -> bool:
    """Whether a change's attributes say it never ran (:data:`RAN_FLAG`, :data:`NEVER_RAN`)."""
    if attributes.get(RAN_FLAG) is False:
        return True
    for key, values in NEVER_RAN.items():
        value = attributes.get(key)
        if isinstance(value, str) and value.lower() in values:
            return True
    return False


def attributes_doc(dialect: str) -> Any:
    """``event.attributes`` as a JSON document the dialect can index into."""
    if dialect == "postgresql":
        return cast(EventRow.attributes, dialects.jsonb())
    # SQLite: no CAST (a JSON "type" there means NUMERIC affinity and mangles text).
    return type_coerce(EventRow.attributes, JSON)


def never_ran_clause(dialect: str) -> ColumnElement[bool]:
    """SQL for :func:`never_ran` on ``event.attributes``."""
    doc = attributes_doc(dialect)
    tests = [func.lower(doc[key].as_string()).in_(sorted(values))
             for key, values in NEVER_RAN.items()]
    # A JSON false, not 0 or "false": the type test keeps the two engines in step.
    if dialect == "postgresql":
        flag = and_(func.jsonb_typeof(doc[RAN_FLAG]) == "boolean",
                    doc[RAN_FLAG].as_boolean() == false())
    else:
        flag = func.json_type(EventRow.attributes, f'$."{RAN_FLAG}"') == "false"
    return or_(flag, *tests)


def _changes_statement(dialect: str, start: datetime, end: datetime, limit: int) -> Any:
    ran = not_(func.coalesce(never_ran_clause(dialect), False))
    return (select(*EVENT_READ_COLUMNS)
            # The partial index's own predicate text, so the engine picks that index.
            .where(and_(text(f"event.{CHANGE_KINDS_SQL}"),
                        EventRow.occurred_at >= start, EventRow.occurred_at <= end, ran))
            .order_by(EventRow.occurred_at.desc(), EventRow.id.desc()).limit(limit))


def list_changes(*, session: Session, start: datetime, end: datetime,
                 limit: int = MAX_CHANGES) -> list[Event]:
    """Changes that ran with ``start <= occurred_at <= end``, newest first."""
    stmt = _changes_statement(session.get_bind().dialect.name, start, end, limit)
    return [event_from_tuple(row) for row in session.connection().execute(stmt)]
