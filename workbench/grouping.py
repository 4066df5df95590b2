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
at ``auto_open_severity`` or above that matched nothing. Its key (the alert's
fingerprint and firing episode, ``startsAt``) is unique in the store: an episode
that already has an investigation gets its event linked there instead.

Cost: a pass reads its batch, the open investigations (id, services, latest linked
time) and, by primary key, only the trace ids and fingerprints its batch carries
(``storage.grouping_keys``); it never reloads linked events, so its cost does not
grow with the number of links. :func:`match` stays the one definition of the
rules; the key index only narrows which investigations it is asked about.

Several instances: the grouper runs under the ``grouping`` lease, and each pass
re-checks that lease under a row lock first in its transaction; a pass aborted as
a deadlock or serialisation victim (or by a concurrent auto-open of the same
episode) is retried a bounded number of times, then reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from connectors import tracing
from connectors.leasing import LeaseKeeper
from storage import grouping_keys as keys
from storage import tenants
from storage.cursors import get_cursor, set_cursor
from storage.events import events_after
from storage.leases import Grant, LeaseLostError, fence
from storage.maintenance import Window
from storage.models import (
    CHANGE_KINDS,
    Event,
    EventKind,
    Severity,
)
from storage.store import Store
from storage.txretry import TRANSIENT, UNIQUE_VIOLATION, run_retrying
from workbench.grouping_sinks import Sink, StoreSink
from workbench.grouping_threshold import burst
from workbench.grouping_windows import Windows

CURSOR_NAME = "grouping"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GroupingRules:
    """Tunables of the grouping rules."""

    window: timedelta = timedelta(minutes=30)
    min_severity: Severity = Severity.MEDIUM
    auto_open: bool = False
    auto_open_severity: Severity = Severity.CRITICAL
    auto_open_count: int = 1
    """Open at the N-th qualifying alert of a service within ``auto_open_window``."""
    auto_open_window: timedelta = timedelta(minutes=10)
    maintenance: tuple[Window, ...] = ()
    """Maintenance windows from the config (the store's are read per pass)."""
    owners: Mapping[str, str] = field(default_factory=dict)
    """``service -> team`` (``[teams]``): the team of an auto-opened investigation."""


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
    auto_open_count: int = Field(default=1, ge=1, le=500)
    """auto_open: open at the N-th such alert of one service within the window, not the first
    (``workbench.grouping_threshold``)."""
    auto_open_window_minutes: int = Field(default=10, ge=1)
    """auto_open: the window the N alerts must fall in."""
    maintenance: list[Window] = Field(default_factory=list)
    """Planned changes (name, service, environment, starts_at, ends_at, reason) during which
    alerts are stored and marked but neither group nor auto-open."""

    def rules(self, owners: Mapping[str, str] | None = None) -> GroupingRules:
        """The rules these settings describe (``owners``: ``[teams]`` as service -> team)."""
        return GroupingRules(window=timedelta(minutes=self.window_minutes),
                             min_severity=self.min_severity, auto_open=self.auto_open,
                             auto_open_severity=self.auto_open_severity,
                             auto_open_count=self.auto_open_count,
                             auto_open_window=timedelta(minutes=self.auto_open_window_minutes),
                             maintenance=tuple(self.maintenance), owners=dict(owners or {}))


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


LEASE = "grouping"
"""The lease the continuous grouper runs under (one instance at a time)."""


def _new_events(session: Session, after_id: int, limit: int) -> list[Event]:
    return events_after(session=session, after_id=after_id, limit=limit)


def _keys(event: Event) -> tuple[tuple[str, str], ...]:
    return tuple(keys.event_keys(trace_id=event.trace_id, service=event.service,
                                 fingerprint=keys.fingerprint_of(event.attributes)))


def auto_key(event: Event) -> str:
    """The unique key of the investigation ``event`` would auto-open: its alert episode."""
    fingerprint = keys.fingerprint_of(event.attributes)
    starts_at = event.attributes.get("starts_at")
    if event.kind is EventKind.ALERT and fingerprint and isinstance(starts_at, str):
        from connectors.alertmanager import episode_key

        return f"alert:{episode_key(fingerprint, starts_at)}"[:512]
    return f"{event.source.value}:{event.dedup_key}"[:512]


def _opens(event: Event, rules: GroupingRules) -> bool:
    return (rules.auto_open and event.kind in (EventKind.ALERT, EventKind.ANOMALY)
            and event.severity.rank >= rules.auto_open_severity.rank)


class _Pass:
    """One batch: contexts of the open investigations, indexed by the keys rules match on."""

    def __init__(self, session: Session, events: list[Event], rules: GroupingRules,
                 sink: Sink) -> None:
        self.session, self.rules, self.sink = session, rules, sink
        self.windows = Windows(session, events, rules.maintenance)
        batch_keys = [k for e in events for k in _keys(e)]
        self.state = keys.load_state(session=session, keys=batch_keys,
                                     auto_keys=[auto_key(e) for e in events if _opens(e, rules)])
        self.contexts: dict[int, Context] = {}
        self.by_key: dict[tuple[str, str], set[int]] = {}
        contexts = {inv.id: Context(inv.id, set(inv.services), last_seen=inv.last_event_at)
                    for inv in self.state.open.values()}
        for (kind, key), owners in self.state.keys.items():
            for inv_id in owners:
                context = contexts[inv_id]
                (context.trace_ids if kind == "trace" else context.fingerprints).add(key)
        for context in contexts.values():
            self._index(context)
        self.links: list[keys.NewLink] = []
        self.opened = 0

    def _index(self, context: Context) -> None:
        self.contexts[context.investigation_id] = context
        inv = context.investigation_id
        for kind, values in (("trace", context.trace_ids), ("fingerprint", context.fingerprints),
                             ("service", context.services)):
            for value in values:
                self.by_key.setdefault((kind, value), set()).add(inv)

    def candidates(self, event: Event) -> list[Context]:
        """The contexts that share a key with ``event`` (the only ones a rule can match)."""
        ids: set[int] = set()
        for key in _keys(event):
            ids |= self.by_key.get(key, set())
        return [self.contexts[i] for i in sorted(ids)]

    def absorb(self, context: Context, event: Event) -> None:
        context.absorb(event)
        for key in _keys(event):
            self.by_key.setdefault(key, set()).add(context.investigation_id)

    def add(self, event: Event) -> None:
        if (window := self.windows.covering(event)) is not None:
            self.sink.suppress(event, window.name)  # stored and marked, not grouped
            return
        matches = [m for c in self.candidates(event) if (m := match(event, c, self.rules))]
        for m in matches:
            self.links.append(keys.NewLink(m.investigation_id, event.id, event.occurred_at,
                                           _keys(event), rule=m.rule, key=m.key,
                                           window_seconds=m.window_seconds))
            self.absorb(self.contexts[m.investigation_id], event)
        if not matches and _opens(event, self.rules):
            self._auto_open(event)

    def _auto_open(self, event: Event) -> None:
        key = auto_key(event)
        inv_id = self.state.episodes.get(key)
        why = f"{event.kind.value} severity>={self.rules.auto_open_severity.value}"
        members: tuple[Event, ...] = (event,)
        if inv_id is None:
            found = burst(self.session, event, count=self.rules.auto_open_count,
                          window_minutes=int(self.rules.auto_open_window.total_seconds() // 60),
                          min_severity=self.rules.auto_open_severity)
            if found is None:
                return  # below the threshold: stored, examined, not (yet) an investigation
            members, why = found.events, why if found.count == 1 else f"{why}, {found.key()}"
            inv_id = self.state.episodes[key] = self.sink.open(event, key)
            self._index(Context(inv_id, {event.service} if event.service else set()))
            self.opened += 1
        for member in members:
            self.links.append(keys.NewLink(inv_id, member.id, member.occurred_at,
                                           _keys(member), rule="auto-open", key=why))
            if inv_id in self.contexts:
                self.absorb(self.contexts[inv_id], member)

    def write(self) -> int:
        """Hand the links to the sink (the store, or a preview); how many are new."""
        return self.sink.write(self.links)


def decide(session: Session, events: list[Event], rules: GroupingRules,
           sink: Sink) -> tuple[int, int]:
    """Run the rules over ``events`` and hand every decision to ``sink``: ``(links, opened)``.

    The grouper passes a :class:`~workbench.grouping_sinks.StoreSink`, ``--dry-run`` a
    :class:`~workbench.grouping_sinks.PreviewSink`: one path, two outcomes.
    """
    batch = _Pass(session, events, rules, sink)
    for event in events:
        batch.add(event)
    return batch.write(), batch.opened


def group_once(store: Store, rules: GroupingRules | None = None, *,
               batch_size: int = 2_000, grant: Grant | None = None) -> GroupingResult:
    """Process one batch of events stored since the last pass, in one write transaction.

    With ``grant`` (the ``grouping`` lease), the pass first renews it under a row lock
    and raises :class:`~storage.leases.LeaseLostError` if another instance holds it.
    """
    rules = rules or GroupingRules()

    def work() -> GroupingResult:
        # The span opens only once there is something to group (an idle pass every
        # few seconds would flood the trace backend) and closes after the commit:
        # ``spans`` is exited after ``store.write()``.
        with contextlib.ExitStack() as spans, store.write() as session:
            if grant is not None:
                fence(session=session, grant=grant)
            after = int(get_cursor(session=session, connector=CURSOR_NAME) or 0)
            events = _new_events(session, after, batch_size)
            if not events:
                return GroupingResult(0, 0, 0)
            span = spans.enter_context(tracing.span(
                "grouping.pass", {"workbench.grouping.examined": len(events)}))
            linked, opened = decide(session, events, rules, StoreSink(session, rules.owners))
            set_cursor(session=session, connector=CURSOR_NAME, cursor=str(events[-1].id))
            if span is not None:
                span.set_attributes({"workbench.grouping.linked": linked - opened,
                                     "workbench.grouping.opened": opened})
            return GroupingResult(len(events), linked - opened, opened)

    # A concurrent auto-open of the same episode loses on the unique key; the retry
    # reads the winner's investigation and links there (each attempt is its own span).
    return run_retrying(work, retry_on=TRANSIENT | {UNIQUE_VIOLATION})


def group_all(store: Store, rules: GroupingRules | None = None, *,
              grant: Grant | None = None) -> GroupingResult:
    """Run passes until every stored event has been examined."""
    total = GroupingResult(0, 0, 0)
    while (result := group_once(store, rules, grant=grant)).examined:
        total = GroupingResult(total.examined + result.examined, total.linked + result.linked,
                               total.opened + result.opened)
    return total


def group_every_tenant(store: Store, rules: GroupingRules | None = None, *,
                       grant: Grant | None = None) -> GroupingResult:
    """:func:`group_all` in each tenant in turn: its own cursor, events, investigations
    and auto-open keys (every read is scoped to the tenant, so nothing links across)."""
    total = GroupingResult(0, 0, 0)
    for result in tenants.in_each_tenant(store, lambda: group_all(store, rules, grant=grant)):
        total = GroupingResult(total.examined + result.examined, total.linked + result.linked,
                               total.opened + result.opened)
    return total


async def run_grouping(store: Store, settings: GroupingSettings, stop: asyncio.Event,
                       leases: LeaseKeeper | None = None,
                       owners: Mapping[str, str] | None = None) -> None:
    """Group continuously until ``stop`` is set; SQL runs in a thread, never on the loop.

    With ``leases`` only the instance holding the :data:`LEASE` groups; the others
    wait to take over (each pass reads the stored cursor, so takeover resumes there).
    A failing pass is logged and retried after the interval: grouping is best effort
    and must never take the process (or the TUI) down.
    """
    rules = settings.rules(owners)
    if leases is not None:
        await leases.claim_now([LEASE])
    while not stop.is_set():
        grant = leases.grant(LEASE) if leases is not None else None
        if leases is None or grant is not None:
            await _pass(store, rules, grant, leases, settings.interval_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.interval_seconds)


async def _pass(store: Store, rules: GroupingRules, grant: Grant | None,
                leases: LeaseKeeper | None, interval: float) -> None:
    try:
        result = await asyncio.to_thread(group_every_tenant, store, rules, grant=grant)
        if result.linked or result.opened:
            log.info("grouping: %s", result)
    except LeaseLostError as exc:
        log.info("grouping: %s; standing by", exc)
        if leases is not None:
            leases.forget(LEASE)
    except (OperationalError, InterfaceError) as exc:  # the store is unreachable
        log.warning("grouping pass failed (store unavailable: %s); retrying in %ss",
                    str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
                    interval)
    except Exception:
        log.exception("grouping pass failed; retrying in %ss", interval)
