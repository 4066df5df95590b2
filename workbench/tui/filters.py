"""The ``/`` filter language shared by the lists: ``key:value`` terms plus free text.

``status:open sev:high service:checkout source:logs kind:log tag:x trace:ID
commit:SHA`` — unknown keys and bad values raise :class:`FilterError` with a
message meant for the status line; everything that is not ``key:value`` is
free-text search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from storage.models import EventKind, InvestigationStatus, Severity, Source
from storage.queries import EventQuery, InvestigationQuery

_ALIASES = {"sev": "severity", "svc": "service", "src": "source", "st": "status",
            "commit_sha": "commit", "trace_id": "trace"}
INVESTIGATION_KEYS = ("status", "severity", "service", "source", "owner")
EVENT_KEYS = ("severity", "service", "source", "kind", "tag", "trace", "commit", "host")


class FilterError(ValueError):
    """A filter the user typed that cannot be applied."""


@dataclass(frozen=True)
class Filter:
    """A parsed filter: ``key -> values`` plus free text."""

    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    text: str = ""

    @property
    def empty(self) -> bool:
        """True when nothing is filtered."""
        return not self.terms and not self.text


def parse(raw: str, allowed: tuple[str, ...]) -> Filter:
    """Parse ``raw``; only keys in ``allowed`` are accepted."""
    terms: dict[str, tuple[str, ...]] = {}
    words: list[str] = []
    for token in raw.split():
        key, sep, value = token.partition(":")
        if not sep or not value or " " in key:
            words.append(token)
            continue
        key = _ALIASES.get(key.lower(), key.lower())
        if key not in allowed:
            raise FilterError(f"unknown filter {key!r} (use {', '.join(allowed)})")
        terms[key] = terms.get(key, ()) + tuple(v for v in value.split(",") if v)
    return Filter(terms=terms, text=" ".join(words))


E = TypeVar("E", Source, Severity, EventKind, InvestigationStatus)


def _enum(kind: type[E], values: tuple[str, ...]) -> tuple[E, ...]:
    try:
        return tuple(kind(v.lower()) for v in values)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise FilterError(f"{kind.__name__.lower()} must be one of: {choices}") from None


def investigation_query(flt: Filter, *, sort: str, limit: int) -> InvestigationQuery:
    """The store query for an investigation-list filter."""
    t = flt.terms
    severity = _enum(Severity, t["severity"])[0] if "severity" in t else None
    _enum(Source, t.get("source", ()))  # matched on linked events by the caller; check here
    return InvestigationQuery(
        statuses=_enum(InvestigationStatus, t.get("status", ())),
        min_severity=severity, service=(t.get("service") or (None,))[0],
        owner=(t.get("owner") or (None,))[0], text=flt.text or None,
        sort=sort,
        descending=sort != "title", limit=limit,
    )


def event_query(flt: Filter, base: EventQuery) -> EventQuery:
    """``base`` narrowed by an event filter."""
    t = flt.terms
    changes: dict[str, object] = {}
    if "severity" in t:
        changes["min_severity"] = _enum(Severity, t["severity"])[0]
    if "source" in t:
        changes["sources"] = _enum(Source, t["source"])
    if "kind" in t:
        changes["kinds"] = _enum(EventKind, t["kind"])
    if "service" in t:
        changes["services"] = t["service"]
    for key, name in (("tag", "tag"), ("trace", "trace_id"), ("commit", "commit_sha"),
                      ("host", "host")):
        if key in t:
            changes[name] = t[key][0]
    if flt.text:
        changes["text"] = flt.text
    return base.model_copy(update=changes)
