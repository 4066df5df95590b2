"""Where an investigation's errors point, aggregated in the store.

An investigation can link half a million events, so nothing here loads them: one
``GROUP BY`` query returns, per combination of what an error says about where it
failed, a count and the first time it was seen. What each error says:

- ``service``: the service that reported it;
- ``trace_end``: the service of the latest-starting failing span of its trace (any
  ``span_error`` in the store with the same trace id). A child span starts inside
  its parent, so the latest-starting failing span is the deepest one: the failing
  call's end. (Two failing sibling calls resolve to the later one.)
- ``peer``: the first peer attribute found, as ``key=value``: ``peer.service``,
  ``rpc.service``, ``server.address``, ``net.peer.name``, ``upstream``, the host of
  ``http.url`` / ``url.full``, ``db.system``; at the top level of the attributes,
  under ``span_attributes`` (traces) or under ``fields`` (structured logs);
- ``mention``: the first of the ``candidates`` (service names) that the title names
  as a whole word, other than the reporting service itself.

"Errors" are linked events of :data:`ERROR_MIN_SEVERITY` or worse that are not
changes or notes. At most ``max_errors`` of them (the first linked, by event id) are
examined; :attr:`ErrorGroups.total` says how many there are in all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session, aliased

from storage import dialects
from storage.models import CHANGE_KINDS, EventKind, Severity
from storage.tables import EventRow, InvestigationEventRow

ERROR_MIN_SEVERITY = Severity.MEDIUM
NOT_ERRORS = sorted({*CHANGE_KINDS, EventKind.JOB, EventKind.NOTE})
PEER_KEYS = ("peer.service", "rpc.service", "server.address", "net.peer.name", "upstream",
             "http.url", "url.full", "db.system")
URL_KEYS = frozenset({"http.url", "url.full"})
CONTAINERS: tuple[tuple[str, ...], ...] = ((), ("span_attributes",), ("fields",))
NAME_CHARS = "a-z0-9_-"
SHA_SAMPLE = 2_000
MAX_GROUPS = 5_000
"""Groups returned (the biggest): the rare errors beyond them still count in ``examined``."""


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """Errors that say the same thing about where they failed."""

    service: str | None
    trace_end: str | None
    peer: str | None
    mention: str | None
    count: int
    first_at: datetime


@dataclass(frozen=True, slots=True)
class ErrorGroups:
    """The groups of one investigation, and how many errors they cover."""

    groups: tuple[ErrorGroup, ...]
    total: int
    examined: int


def _linked_errors(investigation_id: int) -> Any:
    return (select(EventRow.id)
            .join(InvestigationEventRow, InvestigationEventRow.event_id == EventRow.id)
            .where(InvestigationEventRow.investigation_id == investigation_id,
                   EventRow.kind.not_in(NOT_ERRORS),
                   EventRow.severity >= ERROR_MIN_SEVERITY.rank))


def count_errors(*, session: Session, investigation_id: int) -> int:
    """How many linked events are errors."""
    stmt = select(func.count()).select_from(_linked_errors(investigation_id).subquery())
    return int(session.scalar(stmt) or 0)


def error_groups(*, session: Session, investigation_id: int, candidates: Sequence[str],
                 max_errors: int = 50_000) -> ErrorGroups:
    """The investigation's errors grouped by service, trace end, peer and mention."""
    dialect = session.get_bind().dialect.name
    # LIMIT keeps this a real subquery on PostgreSQL too: the JSON is parsed once a row.
    src = (select(EventRow.service, EventRow.trace_id, func.lower(EventRow.title).label("title"),
                  EventRow.occurred_at.label("at"), _doc(dialect).label("doc"))
           .where(EventRow.id.in_(_linked_errors(investigation_id)))
           .order_by(EventRow.id).limit(max_errors).subquery("src"))
    keys = (src.c.service.label("service"), _trace_end(src).label("trace_end"),
            _peer(src.c.doc, dialect).label("peer"),
            _mention(src, candidates, dialect).label("mention"))
    grouped = select(*keys, src.c.at).subquery("errs")
    cols = (grouped.c.service, grouped.c.trace_end, grouped.c.peer, grouped.c.mention)
    stmt = (select(*cols, func.count(), func.min(grouped.c.at))
            .group_by(*cols).order_by(func.count().desc()).limit(MAX_GROUPS))
    groups = tuple(ErrorGroup(s, t, p, m, int(n), first)
                   for s, t, p, m, n, first in session.execute(stmt))
    examined = sum(g.count for g in groups)
    if examined < max_errors and len(groups) < MAX_GROUPS:
        return ErrorGroups(groups, examined, examined)
    total = count_errors(session=session, investigation_id=investigation_id)
    return ErrorGroups(groups, total, min(total, max_errors))


def _doc(dialect: str) -> Any:
    if dialect == "postgresql":
        return cast(EventRow.attributes, dialects.jsonb())
    return EventRow.attributes


def _json_text(doc: Any, path: tuple[str, ...], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.jsonb_extract_path_text(doc, *[literal(p) for p in path])
    return func.json_extract(doc, "$" + "".join(f'."{p}"' for p in path))


def _peer(doc: Any, dialect: str) -> ColumnElement[Any]:
    """``key=value`` of the first peer attribute present (NULL when none is)."""
    found = []
    for key in PEER_KEYS:
        values = [_json_text(doc, (*where, key), dialect) for where in CONTAINERS]
        value: ColumnElement[Any] = func.coalesce(*values)
        if dialect != "postgresql":  # parse the JSON text only when the key is in it
            value = case((func.instr(doc, f'"{key}"') > 0, value))
        if key in URL_KEYS:
            value = _url_host(value, dialect)
        found.append(literal(f"{key}=") + func.cast(value, String))
    return func.coalesce(*found)


def _url_host(url: Any, dialect: str) -> ColumnElement[Any]:
    """The host of ``scheme://host[:port]/...`` (userinfo is not expected here)."""
    if dialect == "postgresql":
        return func.substring(url, r"://([^/:?#]+)")
    rest = func.substr(url, func.instr(url, "://") + 3) + "/"
    host = func.substr(rest, 1, func.instr(rest, "/") - 1) + ":"
    return case((func.instr(url, "://") > 0, func.substr(host, 1, func.instr(host, ":") - 1)))


def _trace_end(src: Any) -> Any:
    other = aliased(EventRow, name="x")
    deepest = (select(other.service)
               .where(other.trace_id == src.c.trace_id, other.kind == EventKind.SPAN_ERROR.value)
               .order_by(other.occurred_at.desc(), other.id.desc()).limit(1)
               .scalar_subquery())
    return case((src.c.trace_id.is_not(None), deepest))


def _mention(src: Any, candidates: Sequence[str], dialect: str) -> ColumnElement[Any]:
    """The first candidate the title names as a whole word (not the reporter itself)."""
    names = sorted({c.lower() for c in candidates if c}, key=lambda c: (-len(c), c))
    if not names:
        return literal(None, String)
    title = src.c.title  # lower-cased in the subquery, once a row
    whens = [(and_(func.coalesce(func.lower(src.c.service), "") != name,
                   _names_word(title, name, dialect)), literal(name)) for name in names]
    return case(*whens)


def _names_word(title: Any, name: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        pattern = f"(^|[^{NAME_CHARS}]){re.escape(name)}([^{NAME_CHARS}]|$)"
        return title.op("~")(literal(pattern))  # type: ignore[no-any-return]
    glob = "".join(f"[{c}]" if c in "*?[]" else c for c in name)
    padded = literal(" ") + title + literal(" ")
    # instr first: a plain substring test is far cheaper than GLOB and rules most rows out.
    word: ColumnElement[bool] = padded.op("GLOB")(
        literal(f"*[^{NAME_CHARS}]{glob}[^{NAME_CHARS}]*"))
    return and_(func.instr(title, name) > 0, word)


def linked_shas(*, session: Session, investigation_id: int, sample: int = SHA_SAMPLE
                ) -> set[str]:
    """Hex strings (7-40 chars, lower case) the linked non-change events carry: every
    ``commit_sha``, and the attribute values (top level, spans' and structured logs'
    own) of the first ``sample`` of them."""
    linked = (select(EventRow.id)
              .join(InvestigationEventRow, InvestigationEventRow.event_id == EventRow.id)
              .where(InvestigationEventRow.investigation_id == investigation_id,
                     EventRow.kind.not_in(NOT_ERRORS)).subquery())
    stmt = (select(EventRow.commit_sha).join(linked, linked.c.id == EventRow.id)
            .where(EventRow.commit_sha.is_not(None)).distinct().limit(10_000))
    seen = {sha.lower() for sha in session.scalars(stmt) if sha and _is_sha(sha)}
    rows = (select(EventRow.attributes).join(linked, linked.c.id == EventRow.id)
            .order_by(EventRow.id).limit(sample))
    for text in session.scalars(rows):
        seen.update(_hex_values(orjson.loads(text)))
    return seen


def _hex_values(attributes: Any) -> set[str]:
    found: set[str] = set()
    if not isinstance(attributes, dict):
        return found
    for where in (attributes, attributes.get("span_attributes"), attributes.get("fields")):
        if isinstance(where, dict):
            found.update(v.lower() for v in where.values() if isinstance(v, str) and _is_sha(v))
    return found


_HEX = re.compile(r"[0-9a-fA-F]{7,40}")


def _is_sha(value: str) -> bool:
    return _HEX.fullmatch(value) is not None


def first_linked_at(*, session: Session, investigation_id: int) -> datetime | None:
    """When the first linked event that is not a change or a note happened."""
    stmt = (select(func.min(EventRow.occurred_at))
            .join(InvestigationEventRow, InvestigationEventRow.event_id == EventRow.id)
            .where(InvestigationEventRow.investigation_id == investigation_id,
                   EventRow.kind.not_in(NOT_ERRORS)))
    value: datetime | None = session.scalar(stmt)
    return value


def linked_services(*, session: Session, investigation_id: int, limit: int = 200) -> list[str]:
    """Distinct services of the linked events that are not changes or notes."""
    stmt = (select(EventRow.service)
            .join(InvestigationEventRow, InvestigationEventRow.event_id == EventRow.id)
            .where(InvestigationEventRow.investigation_id == investigation_id,
                   EventRow.kind.not_in(NOT_ERRORS), EventRow.service.is_not(None))
            .distinct().limit(limit))
    return [s for s in session.scalars(stmt) if s]
