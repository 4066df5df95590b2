"""Investigation outcomes on ``/metrics``: MTTR and MTTD histograms, open investigations.

Read from the store at scrape time (cached briefly), so every instance on a shared
store exports the same figures and a restart loses nothing. The durations are the
ones :mod:`workbench.analytics` reports (``Investigation.time_to_resolve`` and
``time_to_detect``: one definition), bucketed by severity:

- ``workbench_investigation_resolution_seconds`` — resolved_at minus
  coalesce(impact_started_at, detected_at), one observation per resolved
  investigation; its ``_count`` is the number resolved. A reopened investigation
  leaves the histogram until it is resolved again (Prometheus sees a reset).
- ``workbench_investigation_detection_seconds`` — detected_at minus impact_started_at.
- ``workbench_investigations{status, severity}`` — investigations per status now.
- ``workbench_dead_letters_{enqueued,replayed,discarded}_total{connector}`` — DLQ
  entries ever stored, replayed and discarded (entries are resolved, never deleted).
- ``workbench_investigation_links{reason, rule}`` — event links now, by why they were
  made (``manual``, or the grouping rule).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString

from storage import Store
from storage.models import DeadLetterStatus, Investigation, InvestigationStatus, Severity
from storage.outcome_counts import dead_letters_by_status, links_by_rule
from workbench.analytics import Window, load

REPLAYED, DISCARDED = DeadLetterStatus.REPLAYED.value, DeadLetterStatus.DISCARDED.value
MINUTE, HOUR = 60.0, 3600.0
RESOLUTION_BUCKETS = (5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR,
                      8 * HOUR, 24 * HOUR, 72 * HOUR)
DETECTION_BUCKETS = (MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 4 * HOUR, 24 * HOUR)
CACHE_SECONDS = 30.0
"""A scrape every 15 s reads the investigations at most every 30 s."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _histogram(name: str, documentation: str, buckets: Sequence[float],
               items: Sequence[Investigation],
               duration: Callable[[Investigation], float | None]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["severity"])
    for severity in Severity:
        values = sorted(v for inv in items if inv.severity is severity
                        and (v := duration(inv)) is not None and v >= 0)
        cumulative = [(_le(bound), float(bisect.bisect_right(values, bound)))
                      for bound in buckets]
        cumulative.append(("+Inf", float(len(values))))
        family.add_metric([severity.value], cumulative, sum_value=float(sum(values)))
    return family


@dataclass(frozen=True)
class _Read:
    items: list[Investigation]
    letters: dict[tuple[str, str], int]
    links: dict[tuple[str, str], int]


def _dead_letters(letters: dict[tuple[str, str], int]) -> Iterator[CounterMetricFamily]:
    connectors = sorted({connector for connector, _ in letters})
    families = {status: CounterMetricFamily(f"workbench_dead_letters_{name}",
                                            f"dead-letter entries {name} (per connector)",
                                            labels=["connector"])
                for status, name in (("*", "enqueued"), (REPLAYED, "replayed"),
                                     (DISCARDED, "discarded"))}
    for connector in connectors:
        mine = {status: n for (c, status), n in letters.items() if c == connector}
        families["*"].add_metric([connector], float(sum(mine.values())))
        for status in (REPLAYED, DISCARDED):
            families[status].add_metric([connector], float(mine.get(status, 0)))
    yield from families.values()


def _le(bound: float) -> str:
    """The ``le`` label as prometheus_client writes it for its own histograms."""
    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]


class OutcomeCollector:
    """Collects the investigation families from ``store``."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, _Read] | None = None

    def _read(self) -> _Read:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= CACHE_SECONDS:
                window = Window(start=EPOCH, end=datetime.now(UTC))
                with self._store.read() as session:
                    items, _ = load(session, window)
                    read = _Read(items, dead_letters_by_status(session=session),
                                 links_by_rule(session=session))
                self._cached = (now, read)
            return self._cached[1]

    def collect(self) -> Iterator[Any]:
        """Every family (prometheus_client's collector protocol)."""
        read = self._read()
        items = read.items
        yield _histogram("workbench_investigation_resolution_seconds",
                         "time to resolve (resolved_at - coalesce(impact_started_at, "
                         "detected_at)) of resolved investigations", RESOLUTION_BUCKETS,
                         items, Investigation.time_to_resolve)
        yield _histogram("workbench_investigation_detection_seconds",
                         "time to detect (detected_at - impact_started_at)",
                         DETECTION_BUCKETS, items, Investigation.time_to_detect)
        current = GaugeMetricFamily("workbench_investigations", "investigations by status now",
                                    labels=["status", "severity"])
        for status in InvestigationStatus:
            for severity in Severity:
                count = sum(1 for i in items if i.status is status and i.severity is severity)
                current.add_metric([status.value, severity.value], float(count))
        yield current
        yield from _dead_letters(read.letters)
        links = GaugeMetricFamily("workbench_investigation_links",
                                  "event links by reason (manual, rule) and grouping rule",
                                  labels=["reason", "rule"])
        for (reason, rule), count in sorted(read.links.items()):
            links.add_metric([reason, rule], float(count))
        yield links

    def describe(self) -> list[Any]:
        return []  # collected lazily: nothing to describe up front
