"""Small, pure formatting helpers shared by the panes (styles, badges, ages)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage.models import InvestigationStatus, Severity, Source
from storage.times import DisplayZone, display_zone

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
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
