"""Spans of the connector runtime: polls, ingest batches, DLQ replays, outgoing HTTP.

This module never imports OpenTelemetry itself. ``workbench.telemetry`` hands it a
tracer with :func:`install` when tracing is on; until then every helper is a
``nullcontext`` and a ``None`` check, so a workbench with tracing off pays nothing
and loads no SDK. Attribute names follow the OpenTelemetry semantic conventions
where one exists (``http.*``, ``url.*``, ``server.*``, ``error.type``) and use the
``workbench.`` prefix otherwise.

Inside a trace the sampler dropped (the current span is valid but not recording),
no child span is made at all: every sampler the SDK ships drops the children of a
dropped span (parent-based ones by the parent's flag, ratio ones by the same trace
id), so building them, their attributes and their context would be pure cost on
the 90% of requests a 10% sampler does not keep. Outgoing calls still carry the
dropped trace's ``traceparent``, so the next service drops it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from opentelemetry.trace import Span, Tracer

    from storage.models import IngestResult

_tracer: Tracer | None = None
_current_span: Callable[[], Span] | None = None
Attributes = Mapping[str, str | int | float | bool]


def install(tracer: Tracer | None) -> None:
    """Trace from now on with ``tracer`` (``None``: stop tracing)."""
    global _tracer, _current_span
    _tracer = tracer
    if tracer is None:
        _current_span = None
    else:
        from opentelemetry.trace import get_current_span

        _current_span = get_current_span


def dropped() -> bool:
    """Whether the current span belongs to a trace the sampler did not keep."""
    if _current_span is None:
        return False
    current_span = _current_span()
    return not current_span.is_recording() and current_span.get_span_context().is_valid


def recording() -> bool:
    """Whether the current span records: an operation of a kept trace is under way."""
    return _current_span is not None and _current_span().is_recording()


def tracer() -> Tracer | None:
    """The tracer in use, or ``None`` when tracing is off."""
    return _tracer


def enabled() -> bool:
    """Whether spans are being made."""
    return _tracer is not None


def span(name: str, attributes: Attributes | None = None) -> Any:
    """A context manager: an internal span as the current one, or nothing when off.

    Exceptions leaving the block are recorded as span events and set the status to
    ERROR (the SDK's default for ``start_as_current_span``).
    """
    if _tracer is None or dropped():
        return nullcontext(None)
    return _tracer.start_as_current_span(name, attributes=attributes)


def current() -> Span | None:
    """The active span when tracing is on."""
    if _current_span is None:
        return None
    return _current_span()


def poll_span(connector: str, kind: str, breaker_state: str) -> Any:
    """One connector poll (retries and commit included)."""
    return span("connector.poll", {"workbench.connector.name": connector,
                                   "workbench.connector.kind": kind,
                                   "workbench.breaker.state": breaker_state})


def record_result(target: Span | None, result: IngestResult, prefix: str = "workbench.records"
                  ) -> None:
    """What a batch did to the store, as attributes of ``target``."""
    if target is None:
        return
    target.set_attributes({f"{prefix}.received": result.received,
                           f"{prefix}.stored": result.stored,
                           f"{prefix}.deduplicated": result.deduplicated,
                           f"{prefix}.dead_lettered": result.dead_lettered})


def retry_event(error: BaseException | None, attempt: int, wait_seconds: float) -> None:
    """A retried attempt, as an event of the current span."""
    target = current()
    if target is None:
        return
    attributes: dict[str, str | int | float] = {"workbench.retry.attempt": attempt,
                                                "workbench.retry.wait_seconds": wait_seconds}
    if error is not None:
        attributes["error.type"] = type(error).__name__
        attributes["exception.message"] = str(error)[:500]
    target.add_event("retry", attributes)


def ingest_span(connector: str | None, events: int, dead_letters: int) -> Any:
    """One ingest transaction (events, dead letters and cursor together)."""
    if _tracer is None or dropped():
        return nullcontext(None)
    attributes: dict[str, str | int] = {"workbench.batch.events": events,
                                        "workbench.batch.dead_letters": dead_letters}
    if connector is not None:
        attributes["workbench.connector.name"] = connector
    return span("ingest.batch", attributes)


@contextmanager
def http_client_span(request: httpx.Request) -> Iterator[Span | None]:
    """An outgoing HTTP call (HTTP client conventions); injects ``traceparent``.

    The URL is recorded without its query string and credentials: queries of
    metric and log sources can carry tokens or personal data.
    """
    if _tracer is None:
        yield None
        return
    from opentelemetry.propagate import inject
    from opentelemetry.trace import SpanKind

    if dropped():
        inject(request.headers)  # the source learns the trace was not kept
        yield None
        return
    url = request.url
    attributes: dict[str, str | int] = {
        "http.request.method": request.method,
        "url.full": str(url.copy_with(query=None, fragment=None, username=None, password=None)),
        "server.address": url.host}
    if url.port is not None:
        attributes["server.port"] = url.port
    with _tracer.start_as_current_span(request.method, kind=SpanKind.CLIENT,
                                       attributes=attributes) as client:
        inject(request.headers)
        yield client


def http_client_status(target: Span | None, status: int) -> None:
    """The response status of an outgoing call (4xx and 5xx are errors for a client)."""
    if target is None:
        return
    from opentelemetry.trace import StatusCode

    target.set_attribute("http.response.status_code", status)
    if status >= 400:
        target.set_attribute("error.type", str(status))
        target.set_status(StatusCode.ERROR)
