"""Renderables for the investigation and event detail panes.

Field names are our literals; every value is appended through :func:`workbench.tui.safe.assemble`
pieces or ``sanitize``, so data can never become markup or an escape sequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from rich.text import Text

from storage.models import (
    TIMESTAMP_ORDER,
    Event,
    EventLink,
    Investigation,
    LinkedEvent,
    LinkReason,
)
from workbench.sanitize import sanitize, sanitize_line
from workbench.tui.fmt import (
    SOURCE_BADGE,
    duration,
    severity_style,
    short_time,
    source_style,
    stamp,
    status_style,
    tone,
)

STACK_KEYS = ("exception.stacktrace", "stacktrace", "stack_trace", "stack", "traceback")


def _field(text: Text, name: str, value: object, style: str = "") -> None:
    text.append(f"{name:<18}", "bold")
    shown = "\u2014" if value in (None, "", ()) else value
    text.append(sanitize_line(shown, limit=400), style)
    text.append("\n")


def mttr_line(inv: Investigation, now: datetime) -> tuple[str, str]:
    """(value, how it was computed) for the investigation's MTTR so far."""
    start, start_name = ((inv.impact_started_at, "impact started") if inv.impact_started_at
                         else (inv.detected_at, "detected") if inv.detected_at
                         else (inv.created_at, "created"))
    end, end_name = (inv.resolved_at, "resolved") if inv.resolved_at else (now, "now")
    assert start is not None
    value = duration((end - start).total_seconds())
    # Minute resolution: the text (and so the screen) changes once a minute, not per poll.
    return value, (f"{end_name} {stamp(end, seconds=False)} \u2212 {start_name} "
                   f"{stamp(start, seconds=False)}")


def link_reason(link: LinkedEvent) -> str:
    """Why an event is linked, in words."""
    return describe_link(link.link)


def describe_link(why: EventLink) -> str:
    """A link's reason in words (rule, key and window; or who linked it by hand)."""
    if why.reason is LinkReason.RULE:
        window = f", window {duration(why.window_seconds)}" if why.window_seconds else ""
        return f"rule {why.rule or '?'}: {why.key or ''}{window}"
    by = f" by {why.linked_by}" if why.linked_by else ""
    return f"manual{by}" + (f" ({why.note})" if why.note else "")


def investigation_text(inv: Investigation, linked: Sequence[LinkedEvent],
                       suspects: Sequence[Any], now: datetime, direction: Any = None,
                       suppressed: Mapping[str, int] | None = None) -> Text:
    """Every field of an investigation, MTTR with its formula, suspects, what maintenance
    windows held back, and links."""
    text = Text()
    text.append(f"#{inv.id} ", "dim")
    text.append(sanitize_line(inv.title, limit=300) + "\n", "bold")
    text.append(f"{inv.status.value}", status_style(inv.status))
    text.append("  severity ")
    text.append(inv.severity.value, severity_style(inv.severity))
    text.append(f"  events {inv.event_count}\n\n")
    value, how = mttr_line(inv, now)
    text.append("MTTR so far       ", "bold")
    text.append(value + "\n", "bold yellow")
    text.append(f"  = {how}\n", "dim")
    ttd = inv.time_to_detect()
    if ttd is not None:
        text.append("MTTD              ", "bold")
        text.append(f"{duration(ttd)}  (detected \u2212 impact started)\n")
    text.append("\n")
    if inv.summary:
        text.append(sanitize(inv.summary) + "\n\n")
    for name, value_ in (("owner", inv.owner), ("team", inv.team),
                         ("services", ", ".join(inv.services)),
                         ("impact domain", inv.impact_domain),
                         ("business impact", inv.business_impact),
                         ("est. MTTR", f"{inv.estimated_mttr_minutes} min"
                          if inv.estimated_mttr_minutes is not None else None),
                         ("automation", inv.automation_potential),
                         ("root cause", inv.root_cause), ("tags", ", ".join(inv.tags))):
        _field(text, name, value_)
    text.append("\n")
    for name in TIMESTAMP_ORDER:
        _field(text, name.removesuffix("_at").replace("_", " "), stamp(getattr(inv, name)))
    _field(text, "created", stamp(inv.created_at))
    _field(text, "updated", stamp(inv.updated_at))
    if inv.metadata:
        _field(text, "metadata", orjson.dumps(inv.metadata).decode())
    _direction(text, direction)
    _suspects(text, suspects)
    _maintenance(text, suppressed or {})
    _links(text, linked, inv.event_count)
    return text


def _maintenance(text: Text, suppressed: Mapping[str, int]) -> None:
    """Alerts held back by maintenance windows around the investigation: stored, not
    grouped, so they are not among the links (the report's section, in the pane)."""
    if not suppressed:
        return
    text.append("\nHeld back by maintenance windows\n", "bold")
    for name, count in sorted(suppressed.items()):
        text.append(f"  {count} alerts", "yellow")
        text.append(f" by window {sanitize_line(name, limit=120)} (stored, not grouped)\n")


def _direction(text: Text, direction: Any) -> None:
    """Where the errors point: the top services with counts (the suspects follow it)."""
    if direction is None or not direction.targets:
        return
    text.append(f"\nWhere the errors point ({direction.examined} errors)\n", "bold underline")
    for target in direction.targets[:5]:
        text.append(f"{target.count:6.0f}  ", "yellow")
        text.append(sanitize_line(target.service, limit=60))
        how = ", ".join(f"{n:.0f} {k}" for k, n in sorted(target.via.items(),
                                                           key=lambda kv: -kv[1]) if round(n))
        text.append(f"  {sanitize_line(how, limit=120)}\n", "dim")


VERDICT_WORDS = {"confirmed": "CONFIRMED", "ruled_out": "RULED OUT"}


def verdict_label(suspect: Any) -> str:
    """``[CONFIRMED by tui:alex]`` for a suspect with a verdict, else ``""``."""
    verdict = getattr(suspect, "verdict", None)
    if verdict is None:
        return ""
    return f"[{VERDICT_WORDS[verdict.verdict.value]} by {verdict.decided_by}]"


def _suspects(text: Text, suspects: Sequence[Any]) -> None:
    if not suspects:
        return
    text.append("\nSuspect changes (ranked)", "bold underline")
    text.append("  V verdict \u00b7 P patterns \u00b7 B seen before\n", "dim")
    for rank, suspect in enumerate(suspects, 1):
        event: Event = suspect.event
        text.append(f"{rank}. ", "bold")
        text.append(f"{float(suspect.score):5.2f} ", "yellow")
        text.append(SOURCE_BADGE[event.source] + " ", source_style(event.source))
        text.append(sanitize_line(event.commit_sha or "", limit=8) + " ", tone("magenta"))
        text.append(sanitize_line(event.title, limit=120))
        label = verdict_label(suspect)
        if label:
            style = "bold green" if suspect.verdict.verdict.value == "confirmed" else "dim"
            text.append(" " + sanitize_line(label, limit=120), style)
            if suspect.verdict.note:
                text.append(" " + sanitize_line(suspect.verdict.note, limit=120), "dim")
        text.append("\n")
        reasons = "; ".join(str(r) for r in suspect.reasons)
        text.append("     " + sanitize_line(reasons, limit=200) + "\n", "dim")


def _links(text: Text, linked: Sequence[LinkedEvent], total: int) -> None:
    """The first 200 of ``linked`` (``total`` is how many are linked in all)."""
    total = max(total, len(linked))
    text.append(f"\nLinked events ({total}) and why\n", "bold underline")
    for item in linked[:200]:
        event = item.event
        text.append(short_time(event.occurred_at, False) + " ", "dim")
        text.append(SOURCE_BADGE[event.source] + " ", source_style(event.source))
        text.append(sanitize_line(event.title, limit=80), severity_style(event.severity))
        text.append("  \u2190 " + sanitize_line(link_reason(item), limit=120) + "\n", "dim")
    if total > 200:
        text.append(f"\u2026 and {total - 200} more (see the timeline)\n", "dim")


def stack_trace(event: Event) -> str | None:
    """The stack trace carried in the attributes, if any."""
    for key in STACK_KEYS:
        value = event.attributes.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def event_text(event: Event, changes: Sequence[Event], investigations: Sequence[int]) -> Text:
    """An event in full: fields, body, stack trace, attributes, and what preceded it."""
    text = Text()
    text.append(SOURCE_BADGE[event.source] + " ", source_style(event.source))
    text.append(event.severity.value.upper() + " ", severity_style(event.severity))
    text.append(sanitize_line(event.title, limit=2000) + "\n\n", "bold")
    for name, value in (("id", event.id), ("kind", event.kind.value),
                        ("occurred", stamp(event.occurred_at)),
                        ("received", stamp(event.received_at)),
                        ("service", event.service), ("environment", event.environment),
                        ("host", event.host), ("trace id", event.trace_id),
                        ("span id", event.span_id), ("commit sha", event.commit_sha),
                        ("link", event.url), ("tags", ", ".join(event.tags)),
                        ("investigations", ", ".join(f"#{i}" for i in investigations))):
        _field(text, name, value, tone("magenta") if name == "commit sha" else "")
    if event.body:
        text.append("\nBody\n", "bold underline")
        text.append(sanitize(event.body) + "\n")
    trace = stack_trace(event)
    if trace and trace not in event.body:
        text.append("\nStack trace\n", "bold underline")
        text.append(sanitize(trace) + "\n", tone("red"))
    if event.attributes:
        text.append("\nAttributes\n", "bold underline")
        pretty = orjson.dumps(event.attributes, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        text.append(sanitize(pretty.decode()) + "\n")
    text.append("\nChanges before this event (c opens the nearest commit)\n", "bold underline")
    if not changes:
        text.append("none in the previous 24 hours\n", "dim")
    for change in changes:
        ago = duration((event.occurred_at - change.occurred_at).total_seconds())
        text.append(f"{ago:>7} before  ", "dim")
        text.append(SOURCE_BADGE[change.source] + " ", source_style(change.source))
        text.append(sanitize_line(change.commit_sha or "", limit=8).ljust(9), tone("magenta"))
        text.append(sanitize_line(change.service or "", limit=20) + "  ", "cyan")
        text.append(sanitize_line(change.title, limit=120) + "\n")
    return text
