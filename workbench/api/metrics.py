"""Prometheus metrics of the API, in a registry of its own per app.

A registry per app (not the global one) lets a test run several apps in one
process and keeps ``/metrics`` to what this workbench knows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BREAKER_STATES = ("closed", "half_open", "open")
RUN_STATUSES = ("starting", "running", "paused", "standby", "failing", "stopped")
BREAKER_MOVES = tuple((a, b) for a in BREAKER_STATES for b in BREAKER_STATES if a != b)
"""Every move: the breaker's own plus those an operator forces (force_open/force_close)."""
OUTCOMES = ("received", "stored", "deduplicated", "dead_lettered")
"""Health counters exported as ``workbench_connector_events_total{outcome=...}``."""


class _ConnectorCollector:
    """Connector gauges, read from the health source at scrape time.

    Every series carries the connector's ``tenant`` (its name, from the store: the
    statuses are collected tenant by tenant, so the label's values are bounded by the
    tenants that exist, never taken from a request). A push receiver has a series per
    tenant that sent to it."""

    def __init__(self, statuses: Callable[[], list[Mapping[str, Any]]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        state = GaugeMetricFamily("workbench_connector_state",
                                  "1 for the connector's current breaker state",
                                  labels=["tenant", "connector", "state"])
        dlq = GaugeMetricFamily("workbench_connector_dlq_size",
                                "pending dead letters per connector",
                                labels=["tenant", "connector"])
        families = _RuntimeFamilies()
        held = GaugeMetricFamily(
            "workbench_connector_lease_held",
            "1 if some instance holds the connector's lease (0: nobody polls it)",
            labels=["tenant", "connector"])
        age = GaugeMetricFamily("workbench_connector_lease_age_seconds",
                                "seconds since the lease holder last renewed",
                                labels=["tenant", "connector"])
        for status in self._statuses():
            name = [str(status.get("tenant", "")), str(status.get("name", ""))]
            current = str(status.get("state") or "unknown").lower()
            for candidate in (*BREAKER_STATES, "unknown"):
                state.add_metric([*name, candidate], 1.0 if candidate == current else 0.0)
            dlq.add_metric(name, float(status.get("dlq_size") or 0))
            details = status.get("details")
            if isinstance(details, Mapping) and status.get("live"):
                families.add(name, details)
            lease = status.get("lease")
            if isinstance(lease, Mapping) and status.get("local"):
                # Only connectors this instance could run: a stale row of a connector
                # removed from the config is not anybody's job.
                held.add_metric(name, 1.0 if lease.get("held") else 0.0)
                if lease.get("age_seconds") is not None:
                    age.add_metric(name, float(lease["age_seconds"]))
        yield state
        yield dlq
        yield held
        yield age
        yield from families.all()

    def describe(self) -> list[Any]:
        return []  # collected lazily: nothing to describe up front


class _RuntimeFamilies:
    """Counters and gauges of the live connector runtime (from its health snapshots).

    Only live snapshots are exported: counters persisted by another process would
    otherwise look like a counter that jumps between two values.
    """

    def __init__(self) -> None:
        labels = ["tenant", "connector"]
        self.status = GaugeMetricFamily("workbench_connector_status",
                                        "1 for the runner's current status",
                                        labels=["tenant", "connector", "status"])
        self.events = CounterMetricFamily("workbench_connector_events",
                                          "records by outcome since the runner started",
                                          labels=["tenant", "connector", "outcome"])
        self.errors = CounterMetricFamily("workbench_connector_errors",
                                          "failed polls since the runner started", labels=labels)
        self.retries = CounterMetricFamily("workbench_connector_retries",
                                           "retried attempts since the runner started",
                                           labels=labels)
        self.polls = CounterMetricFamily("workbench_connector_polls",
                                         "polls since the runner started", labels=labels)
        self.breaker = CounterMetricFamily(
            "workbench_connector_breaker_transitions",
            "circuit-breaker state changes since the runner started",
            labels=["tenant", "connector", "from", "to"])
        self.last_success = GaugeMetricFamily(
            "workbench_connector_last_success_timestamp_seconds",
            "Unix time of the last successful poll", labels=labels)
        self.skew = GaugeMetricFamily(
            "workbench_connector_clock_skew_seconds",
            "median received minus event time over the latest events (negative: the "
            "source's clock is ahead)", labels=labels)

    def add(self, name: list[str], details: Mapping[str, Any]) -> None:
        """Add one connector's snapshot (``name``: its tenant and connector labels)."""
        current = str(details.get("status") or "").lower()
        for candidate in RUN_STATUSES:
            self.status.add_metric([*name, candidate], 1.0 if candidate == current else 0.0)
        for outcome in OUTCOMES:
            self.events.add_metric([*name, outcome], float(details.get(outcome) or 0))
        self.errors.add_metric(name, float(details.get("errors") or 0))
        self.retries.add_metric(name, float(details.get("retries") or 0))
        self.polls.add_metric(name, float(details.get("polls") or 0))
        moves = details.get("breaker_moves") or {}
        for source, target in BREAKER_MOVES:  # every legal move, 0 until it happens
            self.breaker.add_metric([*name, source, target],
                                    float(moves.get(f"{source}->{target}", 0)))
        success = details.get("last_success_at")
        if isinstance(success, str):  # snapshots arrive JSON-shaped
            success = datetime.fromisoformat(success)
        if isinstance(success, datetime):
            self.last_success.add_metric(name, success.timestamp())
        skew = details.get("clock_skew_seconds")
        if isinstance(skew, int | float):
            self.skew.add_metric(name, float(skew))

    def all(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """Every family, in a stable order."""
        yield from (self.status, self.events, self.errors, self.retries, self.polls,
                    self.breaker, self.last_success, self.skew)


class _RedactionCollector:
    """``workbench_redactions_total{detector}``: matches redacted at ingest by this
    process (every detector listed, 0 until it fires)."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        from storage.redaction import BUILTIN, counts

        family = CounterMetricFamily("workbench_redactions",
                                     "secrets and personal data replaced at ingest, by detector",
                                     labels=["detector"])
        found = counts()
        for name in sorted({*BUILTIN, *found}):
            family.add_metric([name], float(found.get(name, 0)))
        yield family


class ApiMetrics:
    """Counters and histograms the API updates, plus connector gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("workbench_api_requests", "API requests by route template",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("workbench_api_request_seconds", "API request latency",
                                 ["method", "route"], buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        self.ingested = Counter("workbench_api_ingested_events",
                                "events received through POST /api/events by outcome",
                                ["outcome"], registry=self.registry)
        self.registry.register(_RedactionCollector())
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # label lookups are the costly part: do them once per key
            children = (self.requests.labels(method, route, str(status)),
                        self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_ingest_counts(self, stored: int, deduplicated: int) -> None:
        """Count what one ``POST /api/events`` stored."""
        self.ingested.labels("stored").inc(stored)
        self.ingested.labels("deduplicated").inc(deduplicated)

    def watch_connectors(self, statuses: Callable[[], list[Mapping[str, Any]]]) -> None:
        """Export connector gauges from ``statuses`` (called at scrape time)."""
        self.registry.register(_ConnectorCollector(statuses))

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return bytes(generate_latest(self.registry))
