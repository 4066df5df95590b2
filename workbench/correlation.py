"""Suspect ranking: which changes (commits, CI runs, deploys) most likely caused an incident.

A suspect's score is a sum of named parts, each with its reason, so a responder sees
*why* a change ranks where it does ("12 of 40 errors point at payments (9 failing
traces end there, 3 logs name it)"; "payments deployed 4 min before its first
error"). The parts and the reasoning behind their default weights are in
:mod:`workbench.suspect_settings`; in short:

- **follow the evidence**: where the incident's errors point
  (:mod:`workbench.dependencies`) decides which services' changes matter -- a
  dependency the failing calls reach counts like the service that reported them;
- **did it run, and when did it go live**: changes that never ran (skipped, cancelled,
  manual, waiting: :data:`storage.changes.NEVER_RAN`) are not suspects; a commit
  counts from the deploy that shipped it; a change replaced by a later deploy of its
  service before impact is marked down (:mod:`workbench.rollout`);
- **onset**: a change that went live shortly before the first error pointing at its
  service ranks above one whose service was failing already;
- time before impact, the change's kind, its sha on the errors, the configured
  dependency map.

With no linked errors to follow, the services of the investigation and of its
linked events stand in for the evidence (half of its weight), as before issue 19.

A responder's verdicts (:mod:`storage.verdicts`) reorder the list without touching the
scores: the confirmed change first (listed even if the look-back no longer reaches it),
ruled-out changes last, each with a ``verdict`` part saying who decided and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.changes import list_changes
from storage.error_direction import error_groups, first_linked_at, linked_services, linked_shas
from storage.events import get_event
from storage.models import Event, EventKind, Investigation
from storage.store import Store
from storage.verdicts import SuspectVerdict, Verdict, list_verdicts
from workbench.dependencies import ErrorDirection, PeerResolver, direction
from workbench.rollout import Rollout, rollouts
from workbench.same_change import one_per_change
from workbench.suspect_settings import SuspectSettings

MAX_CANDIDATES = 64
"""Service names looked for in error titles (the most recently changed first)."""


@dataclass(frozen=True, slots=True)
class Part:
    """One named, explained part of a suspect's score."""

    name: str
    points: float
    reason: str


@dataclass(frozen=True, slots=True)
class Suspect:
    """A change ranked against an investigation, with the parts of its score."""

    event: Event
    score: float
    reasons: tuple[str, ...]
    parts: tuple[Part, ...] = ()
    verdict: SuspectVerdict | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What every change of one investigation is scored against."""

    start: datetime
    settings: SuspectSettings
    direction: ErrorDirection
    shas: frozenset[str] = frozenset()
    fallback: frozenset[str] = frozenset()
    """Services standing in for the evidence when no errors are linked."""
    rollouts: dict[int, Rollout] = field(default_factory=dict)

    @property
    def lookback(self) -> timedelta:
        """How far back changes are suspects."""
        return timedelta(minutes=self.settings.lookback_minutes)

    def share(self, service: str | None) -> float:
        """How much of the evidence points at ``service`` (0..1)."""
        if self.direction.targets:
            return self.direction.relative(service)
        return 1.0 if service in self.fallback else 0.0


@dataclass(frozen=True, slots=True)
class Analysis:
    """An investigation's impact start, where its errors point, and its suspects."""

    start: datetime | None
    direction: ErrorDirection
    suspects: list[Suspect]


EMPTY = ErrorDirection((), 0, 0, {})


def analyse(store: Store, investigation: Investigation, *,
            settings: SuspectSettings | None = None, limit: int = 10) -> Analysis:
    """Impact start, error direction and the ``limit`` best suspects, in one read."""
    with store.read() as session:
        return analyse_in(session, investigation, settings=settings, limit=limit)


def analyse_in(session: Session, investigation: Investigation, *,
               settings: SuspectSettings | None = None, limit: int = 10) -> Analysis:
    """:func:`analyse` inside an open read session (the API's threads bring their own)."""
    settings = settings or SuspectSettings()
    start = investigation.impact_started_at or first_linked_at(
        session=session, investigation_id=investigation.id) or investigation.detected_at
    if start is None:
        return Analysis(None, EMPTY, [])
    lookback = timedelta(minutes=settings.lookback_minutes)
    changes = list_changes(session=session, start=start - lookback, end=start)
    names = _candidates(changes, investigation, settings)
    groups = error_groups(session=session, investigation_id=investigation.id,
                          candidates=names, max_errors=settings.max_errors)
    found = direction(groups, PeerResolver(names, settings.hosts),
                      {n.lower(): n for n in names})
    fallback = set(investigation.services)
    if not found.targets:
        fallback |= set(linked_services(session=session, investigation_id=investigation.id))
    shas = linked_shas(session=session, investigation_id=investigation.id)
    ctx = Context(start, settings, found, frozenset(shas), frozenset(fallback), rollouts(changes))
    scored = [s for c in changes if (s := score_change(c, ctx))]
    scored = judged(session, investigation.id, scored, ctx)
    return Analysis(start, found, scored[:limit])


_ORDER = {Verdict.CONFIRMED: 0, None: 1, Verdict.RULED_OUT: 2}


def judged(session: Session, investigation_id: int, scored: list[Suspect],
           ctx: Context) -> list[Suspect]:
    """``scored`` with the responders' verdicts applied and in their final order."""
    verdicts = list_verdicts(session=session, investigation_id=investigation_id)
    by_id = {s.event.id: s for s in scored}
    for event_id, verdict in verdicts.items():
        if event_id not in by_id and verdict.verdict is Verdict.CONFIRMED:
            change = get_event(session=session, event_id=event_id)
            by_id[event_id] = score_change(change, ctx) or Suspect(change, 0.0, (), ())
    out = [_with_verdict(s, verdicts.get(s.event.id)) for s in by_id.values()]
    out.sort(key=_rank)
    merged = [_merged(best, others) for best, others in one_per_change(out, _event_of)]
    merged.sort(key=_rank)
    return merged


def _rank(suspect: Suspect) -> tuple[int, float, float, int]:
    return (_ORDER[suspect.verdict.verdict if suspect.verdict else None], -suspect.score,
            -suspect.event.occurred_at.timestamp(), -suspect.event.id)


def _event_of(suspect: Suspect) -> Event:
    return suspect.event


def _merged(best: Suspect, others: list[Suspect]) -> Suspect:
    """The change's best event, with a verdict given on any of its events and a part
    naming the other events that report the same change."""
    if not others:
        return best
    judged_other = next((o.verdict for o in others if o.verdict is not None), None)
    if best.verdict is None and judged_other is not None:
        best = _with_verdict(best, judged_other)
    ids = ", ".join(f"#{o.event.id}" for o in others[:5])
    more = f" and {len(others) - 5} more" if len(others) > 5 else ""
    part = Part("same change", 0.0, f"also reported by event {ids}{more}")
    return Suspect(best.event, best.score, (*best.reasons, part.reason), (*best.parts, part),
                   best.verdict)


def _with_verdict(suspect: Suspect, verdict: SuspectVerdict | None) -> Suspect:
    if verdict is None:
        return suspect
    words = "confirmed as the cause" if verdict.verdict is Verdict.CONFIRMED else "ruled out"
    reason = f"{words} by {verdict.decided_by} at {verdict.decided_at:%Y-%m-%d %H:%M}"
    part = Part("verdict", 0.0, f"{reason}: {verdict.note}" if verdict.note else reason)
    return Suspect(suspect.event, suspect.score, (*suspect.reasons, part.reason),
                   (*suspect.parts, part), verdict)


def rank_suspects(store: Store, investigation: Investigation, *,
                  settings: SuspectSettings | None = None, limit: int = 10) -> list[Suspect]:
    """The ``limit`` most suspicious changes before the investigation's impact start."""
    return analyse(store, investigation, settings=settings, limit=limit).suspects


def _candidates(changes: list[Event], investigation: Investigation,
                settings: SuspectSettings) -> list[str]:
    names = [c.service for c in changes if c.service]  # newest first
    names += [*investigation.services, *settings.dependencies, *settings.hosts.values()]
    names += [callee for callees in settings.dependencies.values() for callee in callees]
    return list(dict.fromkeys(names))[:MAX_CANDIDATES]


def score_change(change: Event, ctx: Context) -> Suspect | None:
    """Score one change; ``None`` if it is outside the look-back or after impact."""
    before = ctx.start - change.occurred_at
    if before < timedelta(0) or before > ctx.lookback:
        return None
    parts = _time_parts(change, before, ctx)
    rollout = ctx.rollouts.get(change.id) or Rollout(change.occurred_at, "deployed")
    if rollout.live_at is None:
        parts.append(Part("not live", 0.0, rollout.how))
    else:
        parts += _evidence_parts(change, rollout, ctx)
    score = round(sum(p.points for p in parts), 3)
    return Suspect(change, score, tuple(p.reason for p in parts), tuple(parts))


def _time_parts(change: Event, before: timedelta, ctx: Context) -> list[Part]:
    weights = ctx.settings.weights
    kind = {EventKind.DEPLOY: weights.deploy, EventKind.COMMIT: weights.commit,
            EventKind.PIPELINE: weights.pipeline}.get(change.kind, 0.0)
    closeness = 1 - before / ctx.lookback
    minutes = int(before.total_seconds() // 60)
    return [Part("time", weights.time * closeness,
                 f"{change.kind.value} {minutes} min before impact"),
            Part("kind", kind, f"a {change.kind.value}")]


def _evidence_parts(change: Event, rollout: Rollout, ctx: Context) -> list[Part]:
    share = ctx.share(change.service)
    parts = [_evidence(change, share, ctx)]
    later = rollout.replaced_by
    # A superseded change's sha on the errors only says the later change kept its code.
    sha = _sha(change, share, ctx) if later is None else None
    parts += [p for p in (sha, _onset(change, rollout, share, ctx), _dependency(change, ctx))
              if p is not None]
    if later is not None:
        parts.append(Part("superseded", -ctx.settings.weights.superseded,
                          f"superseded by the {later.service} {later.kind.value} at "
                          f"{later.occurred_at:%H:%M}, before impact"))
    return [p for p in parts if p.points or p.name == "evidence"]


def _evidence(change: Event, share: float, ctx: Context) -> Part:
    weight = ctx.settings.weights.evidence
    found = ctx.direction
    target = found.target(change.service)
    if target is not None:
        return Part("evidence", weight * share, target.explain(found.examined))
    if not found.targets:
        if share:
            return Part("evidence", weight * 0.5,
                        f"same service ({change.service}; no linked errors to follow)")
        return Part("evidence", 0.0, "no linked errors to follow")
    return Part("evidence", 0.0, f"none of the {found.examined} errors point at "
                                 f"{change.service or 'its service'}")


def _sha(change: Event, share: float, ctx: Context) -> Part | None:
    sha = (change.commit_sha or "").lower()
    if len(sha) < 7 or not any(sha.startswith(s) or s.startswith(sha)
                               for s in ctx.shas if len(s) >= 7):
        return None
    return Part("sha", ctx.settings.weights.sha * share,
                f"sha {sha[:7]} seen on the incident's events")


def _onset(change: Event, rollout: Rollout, share: float, ctx: Context) -> Part | None:
    target = ctx.direction.target(change.service)
    if target is None or rollout.live_at is None or not share:
        return None
    gap = target.first_at - rollout.live_at
    minutes = int(abs(gap.total_seconds()) // 60)
    weights = ctx.settings.weights
    if gap < timedelta(0):
        return Part("already failing", -weights.already_failing * share,
                    f"{change.service} was already failing {minutes} min before this "
                    "change went live")
    decay = math.exp(-gap.total_seconds() / 60 / ctx.settings.onset_minutes)
    verb = "deployed" if change.kind is EventKind.DEPLOY else "went live"
    return Part("onset", weights.onset * share * decay,
                f"{change.service} {verb} {minutes} min before its first error")


def _dependency(change: Event, ctx: Context) -> Part | None:
    reporters = ctx.direction.reporters
    callers = [caller for caller, callees in ctx.settings.dependencies.items()
               if change.service in callees and reporters.get(caller)]
    if not callers or not reporters:
        return None
    caller = max(callers, key=lambda c: reporters[c])
    weight = ctx.settings.weights.dependency_map * reporters[caller] / max(reporters.values())
    return Part("dependency map", weight,
                f"{caller} calls {change.service} (dependency map); {caller} reported "
                f"{reporters[caller]} errors")
