"""Trace detection: span errors, slow traces, and the critical path of a slow trace.

* A span whose status is ERROR is a ``span_error`` event carrying its exception
  events (type, message, stack trace).
* A root span (no parent) slower than its ``service/operation`` (or ``service``)
  threshold, or -- with no threshold configured -- slower than the configured
  percentile of the recent root durations of the same service and operation, makes
  its trace a ``slow_trace`` event. The baseline needs ``min_baseline`` samples first.
* The critical path of a slow trace (the chain of spans that sets its duration,
  each with its self-time) goes into the event's attributes.

Spans are buffered per trace, bounded in count (``buffer_traces``, spans per trace)
and in time (``buffer_seconds`` since the trace's last span), because a trace
crosses exports: the SDK's batch processor sends children before their root, and
other services' spans come later still. A slow trace is reported when its root
arrives, with the spans known then (no ``revision``: the first report costs the
store no lookup); spans that join it later re-report it with a ``revision`` (its
span count), which replaces the stored event in place (``storage.stories``). A span
already buffered is ignored: an exporter's retry of the same export changes nothing.
Once a trace is judged not slow only its span ids are kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from connectors.traces.critical_path import critical_path
from connectors.traces.model import Span
from connectors.traces.rules import TraceRules
from storage.models import EventKind, NewEvent, Severity, Source

MAX_OPERATIONS = 10_000
"""Distinct ``service/operation`` baselines kept; later ones get thresholds only."""


@dataclass
class _Baseline:
    samples: np.ndarray
    count: int = 0
    cached: float = float("inf")
    stale: int = 0


class _Trace:
    """The spans held of one trace (a plain slotted class: one is made per trace)."""

    __slots__ = ("slow", "spans", "touched")

    def __init__(self) -> None:
        self.spans: dict[str, Span | None] = {}
        """By span id; ``None`` once a trace is judged not slow (only ids are needed
        then, to ignore re-sent spans; plain strings keep the GC's heap small)."""
        self.touched = 0.0
        self.slow: tuple[Span, float, str] | None = None
        """(root, limit, basis) once the trace was reported slow."""


class TraceDetector:
    """Stateful detector: feed it spans as they arrive, get events back."""

    def __init__(self, rules: TraceRules | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules or TraceRules()
        self._clock = clock
        self._buffer: OrderedDict[str, _Trace] = OrderedDict()
        self._baselines: dict[tuple[str, str], _Baseline] = {}

    def observe(self, spans: list[Span]) -> list[NewEvent]:
        """Events for the new failing spans and the slow traces ``spans`` complete."""
        now = self._clock()
        self._expire(now)
        events: list[NewEvent] = []
        grown: dict[str, _Trace] = {}
        roots: list[tuple[_Trace, Span]] = []
        buffer, cap = self._buffer, self.rules.max_spans_per_trace
        last_id, trace = "", _Trace()
        held: dict[str, Span | None] = {}
        for span in spans:
            # The hot loop of the receiver (a million spans): spans of one trace come
            # together, so the trace is looked up once per run of them.
            trace_id = span.trace_id
            if trace_id != last_id:
                found = buffer.get(trace_id)
                if found is None:
                    found = buffer[trace_id] = _Trace()
                last_id, trace, held = trace_id, found, found.spans
            if span.span_id in held or len(held) >= cap:
                continue            # already held (a re-sent export), or the trace is full
            held[span.span_id] = span
            grown[trace_id] = trace
            if span.error:
                events.append(span_error_event(span, self.rules))
            if span.parent_id is None:
                roots.append((trace, span))
        for trace_id, trace in grown.items():
            trace.touched = now
            buffer.move_to_end(trace_id)
        fresh: set[str] = set()
        for trace, root in roots:
            limit, basis = self._limit(root)
            self._add_baseline(root)
            if limit is not None and root.duration_ns / 1e6 > limit:
                trace.slow = (root, limit, basis)
                fresh.add(root.trace_id)
            elif trace.slow is None:
                trace.spans = dict.fromkeys(trace.spans)
        for trace_id, trace in grown.items():
            if trace.slow is not None:
                root, limit, basis = trace.slow
                held_spans = [span for span in trace.spans.values() if span is not None]
                revision = None if trace_id in fresh else len(held_spans)
                events.append(slow_trace_event(root, held_spans, limit, basis, self.rules,
                                               revision=revision))
        while len(self._buffer) > self.rules.buffer_traces:
            self._buffer.popitem(last=False)
        return events

    def _expire(self, now: float) -> None:
        """Forget traces without a new span for ``buffer_seconds`` (oldest first)."""
        horizon = now - self.rules.buffer_seconds
        buffer = self._buffer
        while buffer:
            oldest = next(iter(buffer.values()))
            if oldest.touched >= horizon:
                break
            buffer.popitem(last=False)

    def _limit(self, root: Span) -> tuple[float | None, str]:
        thresholds = self.rules.thresholds_ms
        for key in (f"{root.service}/{root.name}", root.service):
            if key in thresholds:
                return thresholds[key], f"threshold {key}"
        baseline = self._baselines.get((root.service, root.name))
        if baseline is None or baseline.count < self.rules.min_baseline:
            return None, "baseline too small"
        # The percentile is refreshed every few samples, not on every root: at a
        # hundred thousand roots a second, a sort per root would dominate.
        if baseline.stale >= min(32, max(1, baseline.count // 10)):
            filled = baseline.samples[: min(baseline.count, len(baseline.samples))]
            baseline.cached = float(np.percentile(filled, self.rules.percentile))
            baseline.stale = 0
        limit = max(baseline.cached, self.rules.min_duration_ms)
        return limit, f"p{self.rules.percentile:g} of {min(baseline.count, len(baseline.samples))}"

    def _add_baseline(self, root: Span) -> None:
        key = (root.service, root.name)
        baseline = self._baselines.get(key)
        if baseline is None:
            if len(self._baselines) >= MAX_OPERATIONS:
                return   # unbounded operation names (ids in URLs) must not grow memory
            baseline = self._baselines[key] = _Baseline(np.empty(self.rules.baseline_size))
        baseline.samples[baseline.count % len(baseline.samples)] = root.duration_ns / 1e6
        baseline.count += 1
        baseline.stale += 1


def _when(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _link(rules: TraceRules, trace_id: str) -> str | None:
    return rules.link_template.format(trace_id=trace_id) if rules.link_template else None


def _version(span: Span) -> dict[str, str]:
    return {"service_version": span.version} if span.version else {}


def span_error_event(span: Span, rules: TraceRules) -> NewEvent:
    """The event for a span whose status is ERROR."""
    exceptions = span.exceptions or []
    first = exceptions[0] if exceptions else {}
    what = ": ".join(p for p in (first.get("type"), first.get("message") or span.status_message)
                     if p)
    title = f"{span.service}: {span.name[:300]} failed" + (f": {what[:1000]}" if what else "")
    return NewEvent(
        source=Source.TRACES, kind=EventKind.SPAN_ERROR, severity=Severity.HIGH,
        occurred_at=_when(span.start_ns), service=span.service[:256], title=title,
        environment=span.environment, body=first.get("stacktrace", ""),
        trace_id=span.trace_id, span_id=span.span_id, url=_link(rules, span.trace_id),
        attributes={"operation": span.name, "duration_ms": span.duration_ns / 1e6,
                    "status_message": span.status_message, "exceptions": exceptions,
                    "span_attributes": span.attributes or {},
                    **_version(span)},
        dedup_key=f"span_error:{span.trace_id}:{span.span_id}",
    )


def slow_trace_event(root: Span, trace: list[Span], limit_ms: float, basis: str,
                     rules: TraceRules, *, revision: int | None = None) -> NewEvent:
    """The event for a slow trace, with its critical path (``revision``: a re-report)."""
    duration_ms = root.duration_ns / 1e6
    path = critical_path(trace, root)
    return NewEvent(
        source=Source.TRACES, kind=EventKind.SLOW_TRACE,
        severity=Severity.HIGH if duration_ms > 3 * limit_ms else Severity.MEDIUM,
        occurred_at=_when(root.start_ns), service=root.service[:256],
        title=f"{root.service}: {root.name[:300]} took {_ms(duration_ms)} ms "
              f"(limit {_ms(limit_ms)} ms)",
        environment=root.environment,
        trace_id=root.trace_id, span_id=root.span_id, url=_link(rules, root.trace_id),
        attributes={"operation": root.name, "duration_ms": duration_ms,
                    "limit_ms": limit_ms, "basis": basis, "spans": len(trace),
                    "critical_path": path, **_version(root),
                    # More spans, higher revision: the store keeps the fullest report.
                    **({"revision": revision} if revision is not None else {})},
        dedup_key=f"slow_trace:{root.trace_id}",
    )


def _ms(value: float) -> str:
    """Milliseconds as a person reads them: whole from 100 on, else three significant
    digits (a 1.59 ms root over a 1.5 ms limit must not read "2 ms (limit 2 ms)")."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"
