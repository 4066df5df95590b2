"""Trace sources: Jaeger query API (pull) and OTLP/HTTP (push), with one detector.

Exports are resolved on first use (PEP 562): loading the config needs only the
light ``rules`` module, and the detector pulls in numpy and protobuf.
"""

from __future__ import annotations

from connectors.lazy import lazy_exports

_EXPORTS = {
    "JaegerConfig": "connectors.traces.jaeger",
    "JaegerConnector": "connectors.traces.jaeger",
    "Span": "connectors.traces.model",
    "TraceDetector": "connectors.traces.detect",
    "TraceRules": "connectors.traces.rules",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
