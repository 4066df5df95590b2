"""Trace detection: percentile baselines, buffering across exports, the critical path."""

from __future__ import annotations

import pytest

from connectors.traces import Span, TraceDetector, TraceRules
from connectors.traces.critical_path import critical_path
from storage.models import EventKind

MS = 1_000_000


def _span(name: str, start: int, end: int, parent: str | None = None, *, trace: str = "1" * 32,
          span_id: str | None = None, error: bool = False) -> Span:
    return Span(trace_id=trace, span_id=span_id or (name.encode().hex() + "0" * 16)[:16],
                parent_id=parent, service="api", name=name, start_ns=start * MS,
                end_ns=end * MS, error=error)


def test_percentile_baseline_needs_enough_samples() -> None:
    detector = TraceDetector(TraceRules(min_baseline=20, percentile=95))
    events = []
    for i in range(40):
        trace = f"{i + 1:032x}"
        events += detector.observe([_span("GET /", 0, 100 + i % 5, trace=trace)])
    assert events == []   # nothing is slow against its own steady baseline
    [slow] = detector.observe([_span("GET /", 0, 900, trace="f" * 32)])
    assert slow.kind is EventKind.SLOW_TRACE and slow.attributes["basis"].startswith("p95 of 40")
    early = TraceDetector(TraceRules(min_baseline=20))
    assert early.observe([_span("GET /", 0, 10_000)]) == []   # no baseline yet: no verdict


def test_children_exported_before_root_are_on_the_critical_path() -> None:
    detector = TraceDetector(TraceRules(thresholds_ms={"api/GET /": 50}))
    root_id = "a" * 16
    assert detector.observe([_span("db", 10, 90, root_id)]) == []
    [slow] = detector.observe([_span("GET /", 0, 100, span_id=root_id)])
    assert [s["operation"] for s in slow.attributes["critical_path"]] == ["GET /", "db"]
    assert slow.attributes["spans"] == 2


def test_critical_path_with_parallel_children() -> None:
    root = _span("root", 0, 100, span_id="0" * 15 + "1")
    fast = _span("fast", 10, 40, root.span_id, span_id="0" * 15 + "2")
    slow = _span("slow", 20, 95, root.span_id, span_id="0" * 15 + "3")
    inner = _span("inner", 30, 60, slow.span_id, span_id="0" * 15 + "4")
    path = critical_path([root, fast, slow, inner], root)
    # "slow" ends last; "fast" is on the path only for the 10 ms before "slow" began
    # (what Jaeger's critical path shows), so the root's own time is 100 - 75 - 10.
    assert [(s["operation"], s["duration_ms"], s["self_ms"]) for s in path] == [
        ("root", 100, 15), ("fast", 10, 10), ("slow", 75, 45), ("inner", 30, 30)]


def test_error_spans_become_events_once_per_span() -> None:
    detector = TraceDetector()
    failing = _span("charge", 0, 5, "b" * 16, error=True)
    [event] = detector.observe([failing])
    assert event.kind is EventKind.SPAN_ERROR and event.dedup_key == \
        f"span_error:{failing.trace_id}:{failing.span_id}"


def test_root_first_then_children_re_reports_with_higher_revisions() -> None:
    detector = TraceDetector(TraceRules(thresholds_ms={"api/GET /": 50}))
    root = _span("GET /", 0, 100, span_id="a" * 16)
    [first] = detector.observe([root])
    assert "revision" not in first.attributes      # a first report: no store lookup
    [second] = detector.observe([_span("db", 10, 90, root.span_id)])
    assert second.dedup_key == first.dedup_key and second.attributes["revision"] == 2
    assert [s["operation"] for s in second.attributes["critical_path"]] == ["GET /", "db"]


def test_a_re_sent_export_changes_nothing() -> None:
    detector = TraceDetector(TraceRules(thresholds_ms={"api/GET /": 50}))
    export = [_span("db", 10, 90, "a" * 16, error=True), _span("GET /", 0, 100, span_id="a" * 16)]
    assert sorted(e.kind for e in detector.observe(export)) == [EventKind.SLOW_TRACE,
                                                               EventKind.SPAN_ERROR]
    assert detector.observe(list(export)) == []      # the exporter's retry
    assert detector.observe(export[:1]) == []


def test_the_buffer_is_bounded_in_time_and_count() -> None:
    now = [0.0]
    detector = TraceDetector(TraceRules(thresholds_ms={"api/GET /": 50}, buffer_seconds=60,
                                        buffer_traces=2), clock=lambda: now[0])
    detector.observe([_span("db", 10, 90, "a" * 16)])
    now[0] = 61.0     # the trace's last span is older than buffer_seconds: forgotten
    [slow] = detector.observe([_span("GET /", 0, 100, span_id="a" * 16)])
    assert slow.attributes["spans"] == 1
    for n in range(3):  # three new traces: the oldest is dropped beyond buffer_traces
        detector.observe([_span("x", 0, 1, "b" * 16, trace=f"{n + 2:032x}")])
    assert len(detector._buffer) == 2


def test_jaeger_ids_of_any_length_are_left_padded() -> None:
    from connectors.traces.jaeger import jaeger_spans
    from connectors.traces.model import InvalidSpanIdError

    def trace(trace_id: str, span_id: str) -> dict[str, object]:
        return {"traceID": trace_id, "processes": {"p1": {"serviceName": "s", "tags": [
            {"key": "deployment.environment", "value": "prod"},
            {"key": "service.version", "value": "1.2"}]}},
            "spans": [{"traceID": trace_id, "spanID": span_id, "operationName": "op",
                       "references": [], "startTime": 1, "duration": 1, "processID": "p1"}]}

    [span] = jaeger_spans(trace("abc", "1"))
    assert (span.trace_id, span.span_id) == ("0" * 29 + "abc", "0" * 15 + "1")
    assert (span.environment, span.version) == ("prod", "1.2")
    [full] = jaeger_spans(trace("F" * 32, "E" * 16))
    assert (full.trace_id, full.span_id) == ("f" * 32, "e" * 16)
    for bad in (trace("1" * 33, "1"), trace("1", "1" * 17), trace("1", "xyz"),
                trace("1", "0000")):
        with pytest.raises(InvalidSpanIdError):
            jaeger_spans(bad)
