"""The critical path of a trace: the chain of spans that sets its duration.

Walk back from the end of a span: the child that finished last (no later than the
point reached) is on the path; continue from that child's start, and descend into
it the same way. What no chosen child covers is the span's self-time -- the time
the span itself was the bottleneck. This is the algorithm Jaeger's UI uses.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from connectors.traces.model import Span

MAX_DEPTH = 200
MAX_STEPS = 500


def critical_path(spans: list[Span], root: Span) -> list[dict[str, Any]]:
    """Steps from the root down, each ``{span_id, service, operation, start_ms,
    duration_ms, self_ms}``; offsets are relative to the root's start."""
    children: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        if span.parent_id is not None and span.span_id != root.span_id:
            children[span.parent_id].append(span)
    for kids in children.values():
        kids.sort(key=lambda s: s.end_ns, reverse=True)
    steps: list[dict[str, Any]] = []
    _walk(root, root.start_ns, root.end_ns, children, root.start_ns, steps, 0)
    # The walk visits siblings latest first; a responder reads the chain in time order
    # (a parent never starts after its child, so the stable sort keeps it pre-order).
    steps.sort(key=lambda step: step["start_ms"])
    return steps


def _walk(span: Span, lo: int, hi: int, children: dict[str, list[Span]], origin: int,
          steps: list[dict[str, Any]], depth: int) -> None:
    """Add ``span`` (clipped to ``[lo, hi]``) and its critical children to ``steps``."""
    start, end = max(span.start_ns, lo), min(span.end_ns, hi)
    step: dict[str, Any] = {
        "span_id": span.span_id, "service": span.service, "operation": span.name,
        "start_ms": (start - origin) / 1e6, "duration_ms": max(0, end - start) / 1e6,
        "depth": depth,
    }
    steps.append(step)
    covered = 0
    cursor = end
    for child in children.get(span.span_id, ()):
        if len(steps) >= MAX_STEPS or depth >= MAX_DEPTH:
            break
        if child.start_ns >= cursor or child.end_ns <= start:
            continue   # overlaps a later critical child, or lies outside the parent
        child_end = min(child.end_ns, cursor)
        child_start = max(child.start_ns, start)
        covered += child_end - child_start
        _walk(child, child_start, child_end, children, origin, steps, depth + 1)
        cursor = child_start
    step["self_ms"] = max(0, end - start - covered) / 1e6
