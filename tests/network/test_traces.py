"""Trace detection: percentile baselines, buffering across exports, the critical path."""

from __future__ import annotations

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
