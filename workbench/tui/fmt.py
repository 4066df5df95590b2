"""Small, pure formatting helpers shared by the panes (styles, badges, ages)."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.models import InvestigationStatus, Severity, Source

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


def stamp(value: datetime | None, *, seconds: bool = True) -> str:
    """UTC time as ``2026-11-28 14:03:07Z`` (or an em dash when unknown)."""
    if value is None:
        return "\u2014"
    return value.strftime("%Y-%m-%d %H:%M:%SZ" if seconds else "%Y-%m-%d %H:%MZ")


def short_time(value: datetime, wide: bool) -> str:
    """Time of day for a timeline row; the date too on wide terminals."""
    return value.strftime("%m-%d %H:%M:%S" if wide else "%H:%M:%S")


def within(delta: timedelta) -> str:
    """``±60m`` for a window half-width."""
    return f"\u00b1{duration(delta.total_seconds())}"
