"""A client span per SQL statement (database conventions; statement text, never values).

Statements run in worker threads; ``asyncio.to_thread`` and the API's executors
carry the caller's context there, so each statement is a child of the poll,
ingest batch or request that ran it. The span rides on SQLAlchemy's execution
context (one per statement), so a statement that fails without reaching
``after_cursor_execute`` cannot end another statement's span.

A statement is a span only inside a recorded operation (a kept request, poll,
ingest batch, grouping pass or replay): under a dropped trace its span would be
dropped too, and a statement outside any operation (a lease renewal, a scrape's
counts) would be a one-span trace of its own, noise in the backend. Checking
that first keeps the unsampled statement to one context lookup.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine

from connectors import tracing

_ATTR = "_workbench_span"
_TRACED = "_workbench_traced"
SYSTEMS = {"sqlite": "sqlite", "postgresql": "postgresql"}
MAX_TEXT = 2000


def trace_statements(engine: Engine) -> None:
    """Wrap every statement of ``engine`` in a span while tracing is on (idempotent)."""
    if getattr(engine, _TRACED, False):
        return
    setattr(engine, _TRACED, True)
    system = SYSTEMS.get(engine.dialect.name, engine.dialect.name)
    event.listen(engine, "before_cursor_execute", _before(system))
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _error)


def _before(system: str) -> Any:
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        tracer = tracing.tracer()
        if tracer is None or context is None or not tracing.recording():
            return
        words = statement.split(None, 1)
        operation = words[0].upper() if words else "SQL"
        span = tracer.start_span(operation, kind=SpanKind.CLIENT, attributes={
            "db.system.name": system, "db.operation.name": operation,
            "db.query.text": statement[:MAX_TEXT]})
        setattr(context, _ATTR, span)

    return before


def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
           executemany: bool) -> None:
    span = getattr(context, _ATTR, None)
    if span is not None:
        setattr(context, _ATTR, None)
        span.end()


def _error(exception_context: Any) -> None:
    span = getattr(exception_context.execution_context, _ATTR, None)
    if span is None:
        return
    error = exception_context.original_exception
    setattr(exception_context.execution_context, _ATTR, None)
    span.record_exception(error)
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(StatusCode.ERROR)
    span.end()
