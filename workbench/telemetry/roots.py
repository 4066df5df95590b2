"""Root spans of requests that carry no trace context: the sampler first, the span after.

A request without ``traceparent`` starts a trace. The SDK's ``start_span`` does
that in one piece: a trace id, the sampler's decision, then either a recording
span or a non-recording one that only carries the context. For the requests a
ratio sampler drops (90% at 10%), the span machinery around the decision costs
about as much again as the decision itself. :class:`RootSpans` asks the
provider's own sampler first, on a trace id from the provider's own id generator;
a dropped trace gets the same non-recording span the SDK would make (same ids,
flags and trace state), built directly. A kept trace is started by the SDK as
usual, on *that* trace id: :class:`StagedIds` hands it to the SDK's next
``generate_trace_id`` on this thread, so the SDK's own decision is taken on the
same id and agrees (the fast path is used only with the SDK's built-in samplers,
whose decision is a function of the trace id and the parent). Either way the
trace id is the one the decision was made on, which ratio sampling across
services relies on.

The SDK's own span-start metrics (off unless a meter provider is given to the
tracer provider; the workbench gives none) do not count dropped roots made here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, StaticSampler, TraceIdRatioBased
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
)
from opentelemetry.util.types import Attributes

ROOT = Context()
DETERMINISTIC = (ParentBased, TraceIdRatioBased, StaticSampler)
"""The SDK's samplers (every one ``OTEL_TRACES_SAMPLER`` can name without a plug-in):
their decision depends only on the trace id and the parent, so taking it twice on
the same id gives the same answer."""


class StagedIds(IdGenerator):
    """The provider's id generator, except that this thread may hand in the next trace id."""

    def __init__(self, inner: IdGenerator | None = None) -> None:
        self.inner = inner or RandomIdGenerator()
        self._local = threading.local()

    def stage(self, trace_id: int | None) -> None:
        """Make ``trace_id`` the next trace id generated on this thread (``None``: none)."""
        self._local.trace_id = trace_id

    def generate_trace_id(self) -> int:
        """The staged id if there is one (once), else a new one."""
        staged: int | None = getattr(self._local, "trace_id", None)
        if staged is not None:
            self._local.trace_id = None
            return staged
        return self.inner.generate_trace_id()

    def generate_span_id(self) -> int:
        """A new span id."""
        return self.inner.generate_span_id()

    def is_trace_id_random(self) -> bool:
        """Whether the inner generator's trace ids are random (W3C ``random`` flag)."""
        random: Callable[[], bool] | None = getattr(self.inner, "is_trace_id_random", None)
        return bool(random()) if random is not None else False


class RootSpans:
    """Start the root span of a request without trace context (see the module)."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        ids = getattr(tracer, "id_generator", None)
        sampler = getattr(tracer, "sampler", None)
        self.fast = (isinstance(tracer, SdkTracer) and isinstance(ids, StagedIds)
                     and isinstance(sampler, DETERMINISTIC))
        """Whether the sampler is asked first (the tracer's provider was made by
        ``workbench.telemetry.setup`` and its sampler is one of the SDK's)."""
        self._ids: Any = ids
        self._sampler: Any = sampler
        random = self.fast and ids is not None and ids.is_trace_id_random()
        # What the SDK sets on a dropped root (RANDOM_TRACE_ID exists in newer SDKs).
        self._dropped_flags = TraceFlags(
            TraceFlags.DEFAULT | (getattr(TraceFlags, "RANDOM_TRACE_ID", 0) if random else 0))

    def start(self, name: str, kind: SpanKind,
              attributes: Callable[[], Attributes]) -> Span:
        """A root span; ``attributes`` is called only for a span that records."""
        if not self.fast:
            span = self.tracer.start_span(name, context=ROOT, kind=kind)
            if span.is_recording():
                span.set_attributes(attributes() or {})
            return span
        trace_id = self._ids.inner.generate_trace_id()
        decision = self._sampler.should_sample(ROOT, trace_id, name, kind)
        if not decision.decision.is_recording():
            return NonRecordingSpan(SpanContext(trace_id, self._ids.generate_span_id(),
                                                is_remote=False, trace_flags=self._dropped_flags,
                                                trace_state=decision.trace_state))
        self._ids.stage(trace_id)
        try:
            return self.tracer.start_span(name, context=ROOT, kind=kind,
                                          attributes=attributes())
        finally:
            self._ids.stage(None)  # unused if the SDK returned early (a disabled tracer)
