"""MTTR and MTTD from investigations' typed timestamps, always with how they were computed.

Every answer carries the formula, the window, which investigations were counted
(ids) and which in the window were left out and why, so a number can be checked
by hand. The functions are pure over :class:`~storage.models.Investigation`; the
TUI and the API both use them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from storage import investigations
from storage.models import Investigation, Severity
from storage.queries import MAX_PAGE, InvestigationQuery

MAX_COUNTED = 10_000
Metric = Literal["mttr", "mttd"]

FORMULAS: dict[Metric, str] = {
    "mttr": "mean(resolved_at - coalesce(impact_started_at, detected_at)) over investigations "
            "whose resolved_at is in [start, end)",
    "mttd": "mean(detected_at - impact_started_at) over investigations whose detected_at is "
            "in [start, end)",
}


class Window(BaseModel):
    """A half-open time window ``[start, end)``."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime


class MetricReport(BaseModel):
    """A mean time, and exactly how it was obtained."""

    model_config = ConfigDict(frozen=True)

    metric: Metric
    formula: str
    window: Window
    filters: dict[str, str]
    count: int
    mean_seconds: float | None
    median_seconds: float | None
    min_seconds: float | None
    max_seconds: float | None
    counted_ids: list[int]
    excluded: dict[str, list[int]]
    """Investigations in the window that were not counted, by reason."""
    truncated: bool = False


def _mttr_point(inv: Investigation) -> tuple[datetime | None, float | None, str | None]:
    if inv.resolved_at is None:
        return None, None, None
    seconds = inv.time_to_resolve()
    return inv.resolved_at, seconds, None if seconds is not None else "no impact_started_at " \
        "or detected_at"


def _mttd_point(inv: Investigation) -> tuple[datetime | None, float | None, str | None]:
    if inv.detected_at is None:
        return None, None, None
    seconds = inv.time_to_detect()
    return inv.detected_at, seconds, None if seconds is not None else "no impact_started_at"


_POINTS: dict[Metric, Callable[[Investigation],
                               tuple[datetime | None, float | None, str | None]]] = {
    "mttr": _mttr_point, "mttd": _mttd_point}


def compute(metric: Metric, items: Iterable[Investigation], window: Window, *,
            filters: dict[str, str] | None = None, truncated: bool = False) -> MetricReport:
    """The report for ``metric`` over ``items`` (anything outside the window is ignored)."""
    counted: list[tuple[int, float]] = []
    excluded: dict[str, list[int]] = {}
    for inv in items:
        at, seconds, why = _POINTS[metric](inv)
        if at is None or not window.start <= at < window.end:
            continue
        if seconds is None:
            excluded.setdefault(why or "incomplete", []).append(inv.id)
            continue
        counted.append((inv.id, seconds))
    values = [s for _, s in counted]
    return MetricReport(
        metric=metric, formula=FORMULAS[metric], window=window, filters=filters or {},
        count=len(values), mean_seconds=statistics.fmean(values) if values else None,
        median_seconds=statistics.median(values) if values else None,
        min_seconds=min(values, default=None), max_seconds=max(values, default=None),
        counted_ids=sorted(i for i, _ in counted), excluded=excluded, truncated=truncated)


def load(session: Session, window: Window, *, service: str | None = None,
         severity: Severity | None = None) -> tuple[list[Investigation], bool]:
    """Investigations that may fall in ``window`` (updated since its start), and truncation.

    Resolving or detecting an investigation updates it, so anything resolved or
    detected in the window was updated at or after the window's start.
    """
    query = InvestigationQuery(updated_after=window.start, service=service, min_severity=None,
                               severity=severity, limit=MAX_PAGE)
    found: list[Investigation] = []
    while True:
        page = investigations.list_investigations(session=session, query=query)
        found.extend(page.items)
        if page.next_cursor is None:
            return found, False
        if len(found) >= MAX_COUNTED:
            return found, True
        query = query.model_copy(update={"cursor": page.next_cursor})


def report(session: Session, metric: Metric, window: Window, *, service: str | None = None,
           severity: Severity | None = None) -> MetricReport:
    """Load and compute in one call."""
    items, truncated = load(session, window, service=service, severity=severity)
    filters = {k: str(v) for k, v in (("service", service), ("severity", severity)) if v}
    return compute(metric, items, window, filters=filters, truncated=truncated)
