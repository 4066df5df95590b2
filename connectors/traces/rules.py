"""How traces are judged: a light pydantic model (no numpy), so settings can embed it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TraceRules(BaseModel):
    """How traces are judged (shared by the OTLP receiver and the Jaeger connector)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds_ms: dict[str, float] = Field(default_factory=dict)
    """Root duration limits by ``service/operation`` or ``service``."""
    percentile: float = Field(default=99.0, gt=0, lt=100)
    """Without a threshold: slow means above this percentile of recent root durations."""
    min_baseline: int = Field(default=50, ge=1)
    """Root spans of an operation needed before its percentile is trusted."""
    baseline_size: int = Field(default=1000, ge=10)
    """Recent root durations kept per ``service/operation`` (a ring buffer)."""
    min_duration_ms: float = Field(default=1.0, ge=0)
    """Never call a trace faster than this slow, whatever the percentile says."""
    link_template: str | None = None
    """Trace link, e.g. ``http://jaeger:16686/trace/{trace_id}``."""
    buffer_traces: int = Field(default=10_000, ge=1)
    """Traces whose spans are held to assemble them across exports (oldest dropped first)."""
    buffer_seconds: float = Field(default=300.0, gt=0)
    """A trace is forgotten this long after its last span: later spans start afresh."""
    max_spans_per_trace: int = Field(default=5_000, ge=1)
    """Spans held per trace for its critical path."""
