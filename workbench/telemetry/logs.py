"""Structured JSON log lines that carry the active span's ``trace_id`` and ``span_id``.

``workbench serve --log-format json``: one JSON object per line, so a log shipper
can parse it and a trace backend can jump from a log line to its trace.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

from connectors import tracing


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "trace_id"?, "span_id"?, "exception"?}``."""

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON."""
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        span = tracing.current()
        if span is not None:
            context = span.get_span_context()
            if context.is_valid:
                line["trace_id"] = format(context.trace_id, "032x")
                line["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def formatter(kind: str) -> logging.Formatter:
    """The formatter for ``--log-format`` (``text`` or ``json``)."""
    if kind == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
