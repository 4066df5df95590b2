"""Investigation reports: a Markdown (or JSON) write-up for a ticket, a chat or a terminal.

Untrusted text (titles, log lines, commit messages) goes through
:func:`workbench.sanitize.sanitize`, so printing a report to a terminal is safe.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from storage.maintenance import suppressed_around
from storage.models import TIMESTAMP_ORDER, Investigation, LinkedEvent, utcnow
from storage.store import Store
from workbench.correlation import Analysis, Suspect, analyse
from workbench.dependencies import ErrorDirection
from workbench.patterns.shifts import Shifts, pattern_shifts, shifts_json
from workbench.sanitize import json_safe, sanitize, sanitize_line
from workbench.similar import Match, matches_json, seen_before
from workbench.suspect_settings import SuspectSettings
from workbench.suspect_view import suspects_out


def format_duration(seconds: float) -> str:
    """``1h 05m`` / ``12m 30s`` / ``45s``."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def duration_line(investigation: Investigation, now: datetime) -> str:
    """Time to resolve (or open so far), saying how it was computed."""
    start = investigation.impact_started_at or investigation.detected_at
    if start is None:
        return "Time to resolve: unknown (no impact start or detection time recorded)"
    label = "impact_started_at" if investigation.impact_started_at else "detected_at"
    if investigation.resolved_at is not None:
        spent = investigation.resolved_at - start
        return f"Time to resolve: {format_duration(spent.total_seconds())} (resolved_at - {label})"
    spent = max(now - start, timedelta(0))
    return f"Open for: {format_duration(spent.total_seconds())} (now - {label}; not resolved)"


def _header(inv: Investigation, now: datetime) -> list[str]:
    lines = [f"# #{inv.id} {sanitize_line(inv.title)}", "",
             f"- Status: {inv.status.value}  ·  Severity: {inv.severity.value}",
             f"- Services: {sanitize_line(', '.join(inv.services) or '-')}",
             f"- Owner: {sanitize_line(inv.owner or '-')}"
             f"  ·  Team: {sanitize_line(inv.team or '-')}"]
    if inv.business_impact:
        lines.append(f"- Impact: {sanitize_line(inv.business_impact)}")
    if inv.root_cause:
        lines.append(f"- Root cause: {sanitize_line(inv.root_cause)}")
    lines.append(f"- {duration_line(inv, now)}")
    for name in TIMESTAMP_ORDER:
        value = getattr(inv, name)
        if value is not None:
            lines.append(f"- {name.removesuffix('_at').replace('_', ' ')}: {value.isoformat()}")
    if inv.summary:
        lines += ["", sanitize(inv.summary)]
    return lines


def _suspects(suspects: list[Suspect]) -> list[str]:
    if not suspects:
        return []
    lines = ["", "## Suspect changes", ""]
    for rank, s in enumerate(suspects, start=1):
        e = s.event
        mark = f"**{s.verdict.verdict.value.upper().replace('_', ' ')}** " if s.verdict else ""
        lines.append(f"{rank}. {mark}[{s.score:.1f}] {e.occurred_at:%Y-%m-%d %H:%M} "
                     f"{e.kind.value} {sanitize_line(e.title)} — "
                     f"{sanitize_line('; '.join(s.reasons))}")
    return lines


def _direction(found: ErrorDirection) -> list[str]:
    if not found.targets:
        return []
    lines = ["", f"## Where the errors point ({found.examined} of {found.total} errors examined)",
             ""]
    lines += [f"- {sanitize_line(t.explain(found.examined))}" for t in found.targets[:8]]
    return lines


def suppressed(store: Store, inv: Investigation, now: datetime) -> dict[str, int]:
    """Alerts that maintenance windows held back around the investigation, per window
    (:func:`storage.maintenance.suppressed_around`)."""
    with store.read() as session:
        return suppressed_around(session=session, investigation=inv, now=now)


def _maintenance(counts: dict[str, int]) -> list[str]:
    if not counts:
        return []
    lines = ["", "## Suppressed by maintenance windows", ""]
    lines += [f"- {count} alerts held back by window {sanitize_line(name)} (stored, not grouped)"
              for name, count in sorted(counts.items())]
    return lines


def _patterns(found: Shifts) -> list[str]:
    if not found.shifts:
        return []
    lines = ["", f"## Log patterns new or surging since the {sanitize_line(found.pivot_reason)}",
             ""]
    lines += [f"- **{s.status}** #{s.pattern.id} [{sanitize_line(s.pattern.service or '-')}] "
              f"{s.before} before -> {s.after} after (first seen "
              f"{s.pattern.first_seen:%Y-%m-%d %H:%M}): `{sanitize_line(s.pattern.template)}`"
              for s in found.shifts[:10]]
    return lines


def _shifts(store: Store, inv: Investigation, settings: SuspectSettings | None,
            now: datetime, found: Analysis) -> Shifts:
    with store.read() as session:
        return pattern_shifts(session, inv, settings=settings, now=now, analysis=found)


def _seen_before(store: Store, inv: Investigation, found: Analysis) -> list[Match]:
    with store.read() as session:
        return seen_before(session, inv, analysis=found, limit=3)


def _similar(matches: list[Match]) -> list[str]:
    if not matches:
        return []
    lines = ["", "## Seen before", ""]
    for m in matches:
        past = m.investigation
        lines.append(f"- #{past.id} {sanitize_line(past.title)} [{m.score:.2f}]: "
                     f"{sanitize_line('; '.join(m.reasons))}")
        if past.root_cause:
            lines.append(f"  - root cause: {sanitize_line(past.root_cause)}")
        lines += [f"  - note: {sanitize_line(note)}" for note in m.notes[:3]]
    return lines


def _timeline(linked: list[LinkedEvent]) -> list[str]:
    lines = ["", f"## Timeline ({len(linked)} linked events)", ""]
    for item in linked:
        e = item.event
        why = item.link.rule or item.link.reason.value
        lines.append(f"- {e.occurred_at:%Y-%m-%d %H:%M:%S} [{e.source.value}] "
                     f"{e.severity.value:<8} {sanitize_line(e.service or '-')}: "
                     f"{sanitize_line(e.title)} (linked: {sanitize_line(why)})")
    return lines


def markdown_report(store: Store, investigation_id: int, *, now: datetime | None = None,
                    settings: SuspectSettings | None = None) -> str:
    """The investigation as Markdown: fields, timing, where errors point, suspects, timeline."""
    now = now or utcnow()
    inv = store.get_investigation(investigation_id)
    linked = store.investigation_events(investigation_id)
    found: Analysis = analyse(store, inv, settings=settings)
    lines = _header(inv, now) + _direction(found.direction) + _suspects(found.suspects) \
        + _patterns(_shifts(store, inv, settings, now, found)) \
        + _maintenance(suppressed(store, inv, now)) + _similar(_seen_before(store, inv, found)) \
        + _timeline(linked)
    return "\n".join(lines) + "\n"


def json_report(store: Store, investigation_id: int, *,
                settings: SuspectSettings | None = None) -> bytes:
    """The investigation, its linked events (with link reasons), where its errors point
    and its suspects as JSON."""
    inv = store.get_investigation(investigation_id)
    linked = store.investigation_events(investigation_id)
    found = analyse(store, inv, settings=settings)
    document: dict[str, Any] = {
        "investigation": inv.model_dump(mode="json"),
        "events": [{"event": item.event.model_dump(mode="json"),
                    "link": item.link.model_dump(mode="json")} for item in linked],
        **suspects_out(inv.id, found).model_dump(
            mode="json", include={"error_direction", "suspects"}),
        "suppressed_by_maintenance": suppressed(store, inv, utcnow()),
        "log_patterns": shifts_json(_shifts(store, inv, settings, utcnow(), found)),
        "seen_before": matches_json(_seen_before(store, inv, found)),
    }
    # Always terminal-safe, not only on a tty: the same bytes get piped to `less -R`.
    return json_safe(orjson.dumps(document, option=orjson.OPT_INDENT_2))
