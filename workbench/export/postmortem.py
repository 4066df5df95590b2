"""A postmortem draft in Markdown, filled from what the investigation holds.

The usual sections -- summary, impact, timeline, root cause, what went well, what went
badly, action items -- with every fact the store has put in its place: the typed
timestamps (time to detect and to resolve, each with its formula), the services, the
confirmed change and the other suspects, the log patterns new since the change, the
responders' notes, and look-alike past incidents. What only people know (what went
well, what to do next) is left as prompts beside the facts that inform them; a note
that starts with ``action:`` or ``todo:`` becomes an action item. Untrusted text goes
through :func:`~workbench.sanitize.sanitize_line`.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from storage.models import TIMESTAMP_ORDER, Event, EventKind, Investigation, utcnow
from storage.store import Store
from workbench.correlation import Analysis, analyse_in
from workbench.export.timeline import timeline
from workbench.patterns.shifts import Shifts, pattern_shifts
from workbench.report import duration_line, format_duration
from workbench.sanitize import sanitize, sanitize_line
from workbench.similar import Match, seen_before
from workbench.suspect_settings import SuspectSettings

ACTION_PREFIXES = ("action:", "todo:")
KEY_KINDS = (EventKind.ALERT, EventKind.DEPLOY, EventKind.NOTE)
"""The linked events a postmortem's timeline shows (logs and spans stay in the report)."""
MAX_KEY_EVENTS = 200


def _summary(inv: Investigation) -> list[str]:
    lines = ["## Summary", "", sanitize(inv.summary) if inv.summary else
             "_(one paragraph: what happened, to whom, for how long)_"]
    return lines + ["", f"- Severity: {inv.severity.value}  ·  Status: {inv.status.value}"]


def _impact(inv: Investigation, now: datetime) -> list[str]:
    lines = ["", "## Impact", "",
             f"- Services: {sanitize_line(', '.join(inv.services) or '-')}",
             f"- Business impact: {sanitize_line(inv.business_impact or '_(to fill in)_')}",
             f"- {duration_line(inv, now)}"]
    if (detect := inv.time_to_detect()) is not None:
        lines.append(f"- Time to detect: {format_duration(detect)} "
                     "(detected_at - impact_started_at)")
    return lines


def _timeline(inv: Investigation, events: list[Event], analysis: Analysis) -> list[str]:
    rows = [(getattr(inv, name), name.removesuffix("_at").replace("_", " "))
            for name in TIMESTAMP_ORDER if getattr(inv, name) is not None]
    if analysis.suspects:
        top = analysis.suspects[0].event
        rows.append((top.occurred_at, f"{top.kind.value} {top.service or '-'}: {top.title} "
                                      "(top suspect)"))
    rows += [(e.occurred_at, f"{e.kind.value} {e.service or '-'}: {e.title}")
             for e in events if e.kind in KEY_KINDS]
    lines = ["", "## Timeline (UTC)", ""]
    lines += [f"- {at:%Y-%m-%d %H:%M:%S} {sanitize_line(what)}" for at, what in sorted(
        rows, key=lambda r: r[0])]
    return lines


def _root_cause(inv: Investigation, analysis: Analysis, shifts: Shifts) -> list[str]:
    lines = ["", "## Root cause", "",
             sanitize_line(inv.root_cause) if inv.root_cause else "_(not confirmed yet)_"]
    for rank, s in enumerate(analysis.suspects[:3], start=1):
        mark = f" **{s.verdict.verdict.value}**" if s.verdict else ""
        lines.append(f"{rank}. [{s.score:.1f}]{mark} {sanitize_line(s.event.title)} — "
                     f"{sanitize_line('; '.join(s.reasons))}")
    lines += [f"- log pattern {s.status} since the change: `{sanitize_line(s.pattern.template)}`"
              f" ({s.before} before, {s.after} after)" for s in shifts.shifts[:3]]
    return lines


def _lessons(inv: Investigation, matches: list[Match]) -> list[str]:
    lines = ["", "## What went well", "", "_(to fill in)_", "", "## What went badly", ""]
    detect = inv.time_to_detect()
    lines.append(f"- Detection took {format_duration(detect)}." if detect is not None
                 else "_(to fill in)_")
    lines += [f"- Seen before: #{m.investigation.id} {sanitize_line(m.investigation.title)} "
              f"(root cause: {sanitize_line(m.investigation.root_cause or '-')})"
              for m in matches]
    return lines


def _actions(events: list[Event]) -> list[str]:
    notes = [e.title for e in events if e.kind is EventKind.NOTE
             and e.title.lower().startswith(ACTION_PREFIXES)]
    lines = ["", "## Action items", ""]
    lines += [f"- [ ] {sanitize_line(n.split(':', 1)[1].strip())}" for n in notes] or \
        ["- [ ] _(owner, due date)_"]
    return lines


def postmortem(store: Store, investigation_id: int, *, settings: SuspectSettings | None = None,
               now: datetime | None = None) -> str:
    """The postmortem draft of one investigation (:class:`~storage.NotFoundError` if none)."""
    now = now or utcnow()
    inv = store.get_investigation(investigation_id)
    events = list(islice(timeline(store, investigation_id, kinds=KEY_KINDS), MAX_KEY_EVENTS))
    with store.read() as session:
        analysis = analyse_in(session, inv, settings=settings)
        shifts = pattern_shifts(session, inv, settings=settings, now=now, analysis=analysis)
        matches = seen_before(session, inv, analysis=analysis, limit=3)
    lines = [f"# Postmortem: #{inv.id} {sanitize_line(inv.title)}", "", *_summary(inv),
             *_impact(inv, now), *_timeline(inv, events, analysis),
             *_root_cause(inv, analysis, shifts), *_lessons(inv, matches), *_actions(events)]
    return "\n".join(lines) + "\n"
