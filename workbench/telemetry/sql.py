"""A client span per SQL statement (database conventions; statement text, never values).

Statements run in worker threads; ``asyncio.to_thread`` and the API's executors
carry the caller's context there, so each statement is a child of the poll,
ingest batch or request that ran it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from connectors import tracing

_KEY = "workbench.span"
SYSTEMS = {"sqlite": "sqlite", "postgresql": "postgresql"}


def trace_statements(engine: Engine) -> None:
    """Wrap every statement of ``engine`` in a span while tracing is on."""
    if getattr(engine, "_workbench_traced", False):
        return
    engine._workbench_traced = True  # type: ignore[attr-defined]
    system = SYSTEMS.get(engine.dialect.name, engine.dialect.name)
    event.listen(engine, "before_cursor_execute", _before(system))
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _error)


def _before(system: str) -> Any:
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        tracer = tracing._tracer
        if tracer is None:
            return
        from opentelemetry.trace import SpanKind

        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer.start_span(operation, kind=SpanKind.CLIENT, attributes={
            "db.system.name": system, "db.operation.name": operation,
            "db.query.text": statement[:2000]})
        conn.info.setdefault(_KEY, []).append(span)

    return before


def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
           executemany: bool) -> None:
    stack = conn.info.get(_KEY)
    if stack:
        stack.pop().end()


def _error(context: Any) -> None:
    conn = context.connection
    stack = conn.info.get(_KEY) if conn is not None else None
    if not stack:
        return
    from opentelemetry.trace import StatusCode

    span = stack.pop()
    span.record_exception(context.original_exception)
    span.set_attribute("error.type", type(context.original_exception).__name__)
    span.set_status(StatusCode.ERROR)
    span.end()
