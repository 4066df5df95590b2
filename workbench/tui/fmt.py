"""Small, pure formatting helpers shared by the panes (styles, badges, ages)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from rich.style import Style

from storage.models import InvestigationStatus, Severity, Source
from storage.times import DisplayZone, display_zone

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
"""Severity in colour; :func:`severity_style` picks this or :data:`SEVERITY_PLAIN`."""
SEVERITY_PLAIN = {
    Severity.CRITICAL: "bold reverse",
    Severity.HIGH: "bold underline",
    Severity.MEDIUM: "bold",
    Severity.LOW: "",
    Severity.INFO: "dim",
}
"""Severity without colour (``NO_COLOR``): a ladder of attributes on the default
foreground. Textual's monochrome filter turns a colour into the grey of its
luminance, and red came out as grey 237 on the 234 background: the worst events
were the hardest to read."""
SEVERITY_SHORT = {
    Severity.CRITICAL: "CRIT", Severity.HIGH: "HIGH", Severity.MEDIUM: "MED",
    Severity.LOW: "LOW", Severity.INFO: "info",
}
SOURCE_STYLE = {
    Source.GIT: "magenta", Source.CI: "blue", Source.LOGS: "green",
    Source.METRICS: "yellow", Source.TRACES: "cyan", Source.MANUAL: "bold",
}
SOURCE_BADGE = {
    Source.GIT: "git", Source.CI: "ci", Source.LOGS: "log", Source.METRICS: "met",
    Source.TRACES: "trc", Source.MANUAL: "man",
}
STATUS_STYLE = {
    InvestigationStatus.OPEN: "bold red",
    InvestigationStatus.INVESTIGATING: "bold yellow",
    InvestigationStatus.RESOLVED: "green",
}
"""Status in colour; :func:`status_style` picks this or :data:`STATUS_PLAIN`."""
STATUS_PLAIN = {
    InvestigationStatus.OPEN: "bold",
    InvestigationStatus.INVESTIGATING: "bold",
    InvestigationStatus.RESOLVED: "",
}
"""Status without colour (``NO_COLOR``): open as dark as high severity, otherwise."""
ERROR_RANK = Severity.HIGH.rank
"""Events at or above this severity are what ``e``/``E`` jump between."""


def duration(seconds: float) -> str:
    """``42s``, ``17m``, ``3h05m``, ``2d04h``: compact and sortable by eye."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def age(then: datetime, now: datetime) -> str:
    """How long ago ``then`` was."""
    return duration((now - then).total_seconds())


_colour = True


def use_colour(on: bool) -> None:
    """Style severities and statuses in colour, or (``NO_COLOR``: Textual's ``App.no_color``)
    with attributes only. One choice per process, like :func:`set_display_zone`."""
    global _colour
    _colour = on


def tone(style: str) -> str:
    """``style`` as drawn: unchanged in colour; under ``NO_COLOR`` its attributes only.

    For every colour that carries meaning outside the severity and status tables
    (source badges, commit shas, errors, a stack trace): Textual's monochrome filter
    greys red and magenta (its dark theme's ``#f4005f``) to ``#3b3b3b``, next to the
    background, where the text is then unreadable."""
    if _colour or not style:
        return style
    plain = str(Style.parse(style).without_color)
    return "" if plain == "none" else plain  # Rich's name for no attributes at all


def source_style(source: Source) -> str:
    """How a source badge is drawn (its text says the source without colour)."""
    return tone(SOURCE_STYLE[source])


def severity_style(severity: Severity) -> str:
    """How ``severity`` is drawn, wherever it is shown (badge, title, detail)."""
    return (SEVERITY_STYLE if _colour else SEVERITY_PLAIN)[severity]


def status_style(status: InvestigationStatus) -> str:
    """How an investigation's ``status`` is drawn."""
    return (STATUS_STYLE if _colour else STATUS_PLAIN)[status]


_display = DisplayZone("UTC", UTC)


def set_display_zone(zone: DisplayZone) -> None:
    """Show every time in ``zone`` from now on (``[tui] display_zone``, the ``Z`` key).

    One zone per process, like the terminal it is drawn on: the panes read it when they
    draw, and the app redraws them all when it changes."""
    global _display
    _display = zone


def shown_zone() -> DisplayZone:
    """The zone times are shown in."""
    return _display


def toggled_zone(configured: str) -> DisplayZone:
    """What the ``Z`` key switches to: UTC from anything else, else the configured zone
    (``local`` when UTC is configured)."""
    if _display.zone is not UTC:
        return display_zone("UTC")
    return display_zone(configured if display_zone(configured).zone is not UTC else "local")


def day(value: datetime) -> date:
    """The calendar day of ``value`` where it is shown (a range spans days there or not)."""
    return _display.local(value).date()


def stamp(value: datetime | None, *, seconds: bool = True) -> str:
    """``2026-11-28 14:03:07Z`` in UTC, ``2026-11-28 15:03:07 CET`` in another display
    zone (or an em dash when unknown)."""
    if value is None:
        return "\u2014"
    shown = _display.local(value)
    text = shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return text + "Z" if _display.zone is UTC else f"{text} {_display.label(value)}"


def short_time(value: datetime, wide: bool) -> str:
    """Time of day for a timeline row (in the display zone); the date too when ``wide``."""
    return _display.local(value).strftime("%m-%d %H:%M:%S" if wide else "%H:%M:%S")


def within(delta: timedelta) -> str:
    """``±60m`` for a window half-width."""
    return f"\u00b1{duration(delta.total_seconds())}"
