"""Store access for the TUI. Every function here blocks: call it from a thread worker.

The screens never touch a session; they ask this module for frozen models and
get them back through messages, so the event loop never waits on SQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage import Store, audit, tail
from storage import events as event_repo
from storage import investigations as inv_repo
from storage.linked import link_reasons
from storage.lookups import event_ids_by_key
from storage.maintenance import suppressed_around
from storage.models import (
    CHANGE_KINDS,
    Event,
    EventKind,
    EventLink,
    Investigation,
    InvestigationStatus,
    LinkedEvent,
    LinkReason,
    NewEvent,
    NewInvestigation,
    Page,
    Severity,
    Source,
    utcnow,
)
from storage.queries import EventQuery
from workbench.settings.access import with_team
from workbench.tui.filters import Filter, investigation_query

if TYPE_CHECKING:  # correlation is optional at run time (see Repo.analysis)
    from workbench.correlation import Suspect
    from workbench.dependencies import ErrorDirection
    from workbench.suspect_settings import SuspectSettings

Analysed = tuple[list["Suspect"], "ErrorDirection | None"]
"""Ranked suspect changes and where the errors point."""

ANALYSIS_MAX_AGE = 30.0
"""Seconds an investigation's suspects are reused while its links do not change."""
REQUEST_ID_KEYS = ("request_id", "http.request_id", "request.id", "x-request-id")


LINK_PREVIEW = 200
"""Linked events listed (with why) in the detail pane; the timeline pages the rest."""


@dataclass(frozen=True)
class InvestigationView:
    """An investigation with what the detail pane shows beside it (bounded: the first
    :data:`LINK_PREVIEW` links, however many events are linked)."""

    investigation: Investigation
    linked: list[LinkedEvent]
    suspects: list[Suspect]
    direction: ErrorDirection | None = None
    """Where the errors point (:class:`workbench.dependencies.ErrorDirection`), if known."""
    suppressed: dict[str, int] = field(default_factory=dict)
    """Alerts maintenance windows held back around it, per window (as the report says)."""


class Repo:
    """Blocking queries and writes the TUI needs, over one :class:`Store`.

    Every write also appends an audit row (actor: ``tui:<user>``, built by
    :func:`workbench.identity.actor`) in the write's transaction, like the API's writes do.
    """

    def __init__(self, store: Store, *, actor: str = "tui") -> None:
        self.store = store
        self.actor = actor
        self.suspect_settings: SuspectSettings | None = None
        """The config's ``[suspects]`` table (``None``: defaults)."""
        self.owners: dict[str, str] = {}
        """``[teams]`` as service -> team: the team of an investigation created here."""
        self._analysis: tuple[tuple[int, int, datetime], float, Analysed] | None = None

    # -- reads ---------------------------------------------------------------
    def investigations(self, flt: Filter, *, sort: str, limit: int) -> list[Investigation]:
        """The investigations matching ``flt`` (``source:`` matches linked events)."""
        query = investigation_query(flt, sort=sort, limit=limit)
        sources = tuple(Source(s.lower()) for s in flt.terms.get("source", ()))
        return self.store.list_investigations(query.model_copy(update={"sources": sources})).items

    def investigation(self, investigation_id: int, *, suspects: bool = True
                      ) -> InvestigationView:
        """One investigation, its first linked events and (if asked) ranked suspects."""
        inv = self.store.get_investigation(investigation_id)
        with self.store.read() as session:
            linked = inv_repo.investigation_events(
                session=session, investigation_id=investigation_id, limit=LINK_PREVIEW)
            held = suppressed_around(session=session, investigation=inv, now=utcnow())
        found, direction = self.analysis(inv) if suspects else ([], None)
        return InvestigationView(inv, linked, found, direction, held)

    def investigation_version(self, investigation_id: int) -> datetime:
        """When the investigation last changed (links included): what a poll compares."""
        with self.store.read() as session:
            return inv_repo.investigation_updated_at(session=session,
                                                     investigation_id=investigation_id)

    def analysis(self, inv: Investigation) -> Analysed:
        """Ranked suspect changes and where the errors point (empty without correlation)."""
        try:
            from workbench.correlation import analyse
        except ImportError:  # correlation is optional: the pane just omits the section
            return [], None
        # The detail pane reloads every poll; on a big investigation the analysis costs
        # up to a second, so it is redone only when the links change or it is stale.
        key = (inv.id, inv.event_count, inv.updated_at)
        cached = self._analysis
        if cached and cached[0] == key and time.monotonic() - cached[1] < ANALYSIS_MAX_AGE:
            return cached[2]
        found = analyse(self.store, inv, settings=self.suspect_settings, limit=5)
        result = (list(found.suspects), found.direction)
        self._analysis = (key, time.monotonic(), result)
        return result

    def forget_analysis(self) -> None:
        """Rank again next time (a verdict changed the order without touching the links)."""
        self._analysis = None

    def events(self, query: EventQuery) -> Page[Event]:
        """One keyset page of events."""
        return self.store.list_events(query)

    def link_reasons(self, investigation_id: int, event_ids: Sequence[int]) -> dict[int, EventLink]:
        """Why each of ``event_ids`` is linked to the investigation (one page's worth)."""
        with self.store.read() as session:
            return link_reasons(session=session, investigation_id=investigation_id,
                                event_ids=event_ids)

    def events_after(self, query: EventQuery, after_id: int, limit: int) -> list[Event]:
        """Events matching ``query`` stored after ``after_id`` (the live tail), oldest first."""
        with self.store.read() as session:
            return tail.matching_after(session=session, query=query, after_id=after_id,
                                       limit=limit)

    def max_event_id(self) -> int:
        """The newest stored event id (0 when empty)."""
        with self.store.read() as session:
            return tail.max_event_id(session=session)

    def histogram(self, query: EventQuery, buckets: int
                  ) -> tuple[int, list[tuple[datetime, str, int]]]:
        """Counts by source in ``buckets`` equal slices of the query's window."""
        if query.start is None or query.end is None:
            return 60, []
        span = max(int((query.end - query.start).total_seconds()), buckets)
        size = max(span // max(buckets, 1), 1)
        with self.store.read() as session:
            return size, event_repo.count_series(session=session, by="source",
                                                 bucket_seconds=size, query=query)

    def preceding_changes(self, event: Event, limit: int = 5) -> list[Event]:
        """Changes (commit, deploy, pipeline) before ``event``: same service first."""
        base = EventQuery(kinds=tuple(CHANGE_KINDS), end=event.occurred_at,
                          start=event.occurred_at - timedelta(days=1), limit=limit)
        same = self.store.list_events(base.model_copy(
            update={"services": (event.service,)})).items if event.service else []
        others = [e for e in self.store.list_events(base).items if e not in same]
        return (same + others)[:limit]

    def request_id_events(self, request_id: str, limit: int = 500) -> tuple[int, ...]:
        """Ids of events whose attributes carry ``request_id`` under a usual key."""
        with self.store.read() as session:
            return tail.ids_with_attribute(session=session, keys=REQUEST_ID_KEYS,
                                           value=request_id, limit=limit)

    def investigations_of(self, event_id: int) -> list[int]:
        """Investigations an event is linked to."""
        with self.store.read() as session:
            return inv_repo.investigations_for_event(session=session, event_id=event_id)

    # -- writes --------------------------------------------------------------
    def _audit(self, session: Session, action: str, target: str, **detail: Any) -> None:
        audit.record(session=session, actor=self.actor, action=action, target=target,
                     detail={"via": "tui", **detail})

    def set_status(self, investigation_id: int, status: InvestigationStatus) -> Investigation:
        """Validated status change (raises ``InvalidTransitionError``)."""
        with self.store.write() as session:
            done = inv_repo.set_status(session=session, investigation_id=investigation_id,
                                       status=status)
            self._audit(session, "investigation.status", f"investigation:{investigation_id}",
                        status=status.value)
            return done

    def update(self, investigation_id: int, changes: dict[str, Any]) -> Investigation:
        """Update editable fields (validated by the store)."""
        with self.store.write() as session:
            done = inv_repo.update_investigation(session=session,
                                                 investigation_id=investigation_id,
                                                 changes=dict(changes))
            self._audit(session, "investigation.update", f"investigation:{investigation_id}",
                        fields=sorted(changes),
                        values={k: str(v) if v is not None else None
                                for k, v in changes.items()})
            return done

    def add_note(self, investigation_id: int, text: str, *, author: str,
                 now: datetime) -> Event:
        """A ``manual``/``note`` event linked to the investigation, in one transaction."""
        inv = self.store.get_investigation(investigation_id)
        first_line = text.strip().splitlines()[0][:200] if text.strip() else "note"
        note = NewEvent(source=Source.MANUAL, kind=EventKind.NOTE, severity=Severity.INFO,
                        occurred_at=now, title=first_line, body=text,
                        service=inv.services[0] if inv.services else None,
                        attributes={"author": author, "investigation_id": investigation_id},
                        # Two notes in one clock tick (a frozen test clock, a fast typist)
                        # are still two notes.
                        dedup_key=f"tui-note:{investigation_id}:{now.isoformat()}:"
                                  f"{uuid.uuid4().hex}")
        from storage.ingest import ingest
        with self.store.write() as session:
            ingest(session=session, events=[note], dead_letters=[], connector=None, cursor=None)
            key = (Source.MANUAL.value, note.effective_dedup_key())
            stored = event_ids_by_key(session=session, keys=[key])[key]
            inv_repo.link_events(session=session, investigation_id=investigation_id,
                                 event_ids=[stored], reason=LinkReason.MANUAL, linked_by=author,
                                 note="note added in the TUI", now=now)
            self._audit(session, "investigation.note", f"investigation:{investigation_id}",
                        event_id=stored)
            return event_repo.get_event(session=session, event_id=stored)

    def create(self, title: str, event_ids: Sequence[int], *, author: str) -> Investigation:
        """A new investigation, linked to ``event_ids`` (manual links) in one transaction."""
        with self.store.write() as session:
            chosen = event_repo.get_events(session=session, ids=list(event_ids))
            services = tuple(dict.fromkeys(e.service for e in chosen if e.service))
            worst = max((e.severity for e in chosen), key=lambda s: s.rank,
                        default=Severity.MEDIUM)
            start = min((e.occurred_at for e in chosen), default=None)
            inv = inv_repo.create_investigation(session=session, new=with_team(NewInvestigation(
                title=title, services=services, severity=worst, impact_started_at=start),
                self.owners))
            if chosen:
                inv_repo.link_events(session=session, investigation_id=inv.id,
                                     event_ids=[e.id for e in chosen], linked_by=author)
            self._audit(session, "investigation.create", f"investigation:{inv.id}",
                        event_ids=[e.id for e in chosen])
            return inv_repo.get_investigation(session=session, investigation_id=inv.id)

    def link(self, investigation_id: int, event_ids: Sequence[int], *, author: str) -> None:
        """Link events manually."""
        with self.store.write() as session:
            inv_repo.link_events(session=session, investigation_id=investigation_id,
                                 event_ids=event_ids, linked_by=author)
            self._audit(session, "investigation.link", f"investigation:{investigation_id}",
                        event_ids=list(event_ids))

    def unlink(self, investigation_id: int, event_id: int) -> None:
        """Remove one link."""
        with self.store.write() as session:
            inv_repo.unlink_event(session=session, investigation_id=investigation_id,
                                  event_id=event_id)
            self._audit(session, "investigation.unlink", f"investigation:{investigation_id}",
                        event_id=event_id)

    def set_tags(self, event_id: int, tags: Sequence[str]) -> Event:
        """Replace an event's tags."""
        with self.store.write() as session:
            done = event_repo.set_tags(session=session, event_id=event_id, tags=tags)
            self._audit(session, "event.tags", f"event:{event_id}", tags=list(tags))
            return done
