"""Grouping rules: link newly stored events to the open investigations they belong to.

The grouper walks the event table in id order from a persisted cursor (stored like
a connector's, under :data:`CURSOR_NAME`), so it is decoupled from every ingest
path (connectors, webhooks, OTLP, bulk import) and a crash re-processes a batch at
worst — linking is idempotent. Each link records the rule, the key it matched on
and the window, so a responder can see why an event was grouped. The rules, after
Keep's fingerprints and Dispatch's entity + sliding window:

- ``trace``: the event shares a trace id with an event already linked;
- ``alert-fingerprint``: an alert with the fingerprint of one already linked
  (the resolved notification of a firing alert, a re-fire);
- ``service-window``: same service as the investigation, severity at least
  ``min_severity``, within ``window`` of the investigation's latest linked event.

``auto_open`` (off by default) opens a new investigation for an alert or anomaly
at ``auto_open_severity`` or above that matched nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import investigations as inv_repo
from storage.converters import EVENT_COLUMNS, event_from_row
from storage.cursors import get_cursor, set_cursor
from storage.models import (
    CHANGE_KINDS,
    Event,
    EventKind,
    InvestigationStatus,
    LinkReason,
    NewInvestigation,
    Severity,
)
from storage.queries import InvestigationQuery
from storage.store import Store
from storage.tables import EventRow

CURSOR_NAME = "grouping"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GroupingRules:
    """Tunables of the grouping rules."""

    window: timedelta = timedelta(minutes=30)
    min_severity: Severity = Severity.MEDIUM
    auto_open: bool = False
    auto_open_severity: Severity = Severity.CRITICAL


class GroupingSettings(BaseModel):
    """The ``[grouping]`` table of the config file."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Run the grouping rules continuously in ``workbench serve`` and the TUI."""
    interval_seconds: float = Field(default=5.0, gt=0)
    """Pause between passes (the next pass is armed when the previous one finishes)."""
    window_minutes: int = Field(default=30, ge=1)
    """service-window rule: how far from the latest linked event an event may be."""
    min_severity: Severity = Severity.MEDIUM
    """service-window rule: the least severity that is grouped by service."""
    auto_open: bool = False
    """Open an investigation for a severe alert or anomaly that matched none."""
    auto_open_severity: Severity = Severity.CRITICAL
    """auto_open: the least severity that opens an investigation."""

    def rules(self) -> GroupingRules:
        """The rules these settings describe."""
        return GroupingRules(window=timedelta(minutes=self.window_minutes),
                             min_severity=self.min_severity, auto_open=self.auto_open,
                             auto_open_severity=self.auto_open_severity)


@dataclass
class Context:
    """What the rules know of one open investigation."""

    investigation_id: int
    services: set[str]
    trace_ids: set[str] = field(default_factory=set)
    fingerprints: set[str] = field(default_factory=set)
    last_seen: datetime | None = None

    def absorb(self, event: Event) -> None:
        """Remember ``event`` as linked (its trace, fingerprint and time)."""
        if event.trace_id:
            self.trace_ids.add(event.trace_id)
        fingerprint = event.attributes.get("fingerprint")
        if isinstance(fingerprint, str):
            self.fingerprints.add(fingerprint)
        if event.service:
            self.services.add(event.service)
        if self.last_seen is None or event.occurred_at > self.last_seen:
            self.last_seen = event.occurred_at


@dataclass(frozen=True, slots=True)
class Match:
    """Why an event belongs to an investigation."""

    investigation_id: int
    rule: str
    key: str
    window_seconds: int | None = None


def match(event: Event, context: Context, rules: GroupingRules) -> Match | None:
    """The first rule that puts ``event`` in ``context``'s investigation, if any."""
    inv = context.investigation_id
    if event.kind in CHANGE_KINDS:
        return None  # changes are suspects, ranked separately, not evidence
    if event.trace_id and event.trace_id in context.trace_ids:
        return Match(inv, "trace", f"trace_id={event.trace_id}")
    fingerprint = event.attributes.get("fingerprint")
    if event.kind is EventKind.ALERT and fingerprint in context.fingerprints:
        return Match(inv, "alert-fingerprint", f"fingerprint={fingerprint}")
    if (event.service in context.services and event.severity.rank >= rules.min_severity.rank
            and context.last_seen is not None
            and abs(event.occurred_at - context.last_seen) <= rules.window):
        return Match(inv, "service-window",
                     f"service={event.service}, severity>={rules.min_severity.value}",
                     int(rules.window.total_seconds()))
    return None


@dataclass(frozen=True, slots=True)
class GroupingResult:
    """What one grouping pass did."""

    examined: int
    linked: int
    opened: int


def _contexts(session: Session) -> list[Context]:
    query = InvestigationQuery(statuses=(InvestigationStatus.OPEN,
                                         InvestigationStatus.INVESTIGATING), limit=500)
    contexts = []
    for inv in inv_repo.list_investigations(session=session, query=query).items:
        context = Context(inv.id, set(inv.services))
        for item in inv_repo.investigation_events(session=session, investigation_id=inv.id):
            context.absorb(item.event)
        contexts.append(context)
    return contexts


def _new_events(session: Session, after_id: int, limit: int) -> list[Event]:
    stmt = select(*EVENT_COLUMNS).where(EventRow.id > after_id).order_by(EventRow.id).limit(limit)
    return [event_from_row(r) for r in session.execute(stmt).mappings()]


def _auto_open(session: Session, event: Event, rules: GroupingRules) -> Context | None:
    if not rules.auto_open or event.kind not in (EventKind.ALERT, EventKind.ANOMALY):
        return None
    if event.severity.rank < rules.auto_open_severity.rank:
        return None
    created = inv_repo.create_investigation(session=session, new=NewInvestigation(
        title=event.title[:200], severity=event.severity,
        services=(event.service,) if event.service else (), detected_at=event.occurred_at,
        tags=("auto",)))
    inv_repo.link_events(session=session, investigation_id=created.id, event_ids=[event.id],
                         reason=LinkReason.RULE, rule="auto-open",
                         key=f"{event.kind.value} severity>={rules.auto_open_severity.value}")
    context = Context(created.id, set(created.services))
    context.absorb(event)
    return context


def group_once(store: Store, rules: GroupingRules | None = None, *,
               batch_size: int = 2_000) -> GroupingResult:
    """Process one batch of events stored since the last pass, in one write transaction."""
    rules = rules or GroupingRules()
    with store.write() as session:
        after = int(get_cursor(session=session, connector=CURSOR_NAME) or 0)
        events = _new_events(session, after, batch_size)
        if not events:
            return GroupingResult(0, 0, 0)
        contexts = _contexts(session)
        linked, opened = _apply(session, events, contexts, rules)
        set_cursor(session=session, connector=CURSOR_NAME, cursor=str(events[-1].id))
    return GroupingResult(len(events), linked, opened)


def _apply(session: Session, events: Iterable[Event], contexts: list[Context],
           rules: GroupingRules) -> tuple[int, int]:
    linked = opened = 0
    for event in events:
        matches = [m for c in contexts if (m := match(event, c, rules))]
        for m in matches:
            new = inv_repo.link_events(session=session, investigation_id=m.investigation_id,
                                       event_ids=[event.id], reason=LinkReason.RULE,
                                       rule=m.rule, key=m.key, window_seconds=m.window_seconds)
            next(c for c in contexts if c.investigation_id == m.investigation_id).absorb(event)
            linked += len(new)
        if not matches and (context := _auto_open(session, event, rules)) is not None:
            contexts.append(context)
            opened += 1
    return linked, opened


def group_all(store: Store, rules: GroupingRules | None = None) -> GroupingResult:
    """Run passes until every stored event has been examined."""
    total = GroupingResult(0, 0, 0)
    while (result := group_once(store, rules)).examined:
        total = GroupingResult(total.examined + result.examined, total.linked + result.linked,
                               total.opened + result.opened)
    return total


async def run_grouping(store: Store, settings: GroupingSettings, stop: asyncio.Event) -> None:
    """Group continuously until ``stop`` is set; SQL runs in a thread, never on the loop.

    A failing pass is logged and retried after the interval: grouping is best effort
    and must never take the process (or the TUI) down.
    """
    rules = settings.rules()
    while not stop.is_set():
        try:
            result = await asyncio.to_thread(group_all, store, rules)
            if result.linked or result.opened:
                log.info("grouping: %s", result)
        except Exception:
            log.exception("grouping pass failed; retrying in %ss", settings.interval_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.interval_seconds)
