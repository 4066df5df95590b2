"""Trace sources: Jaeger query API (pull) and OTLP/HTTP (push), with one detector.

Exports are resolved on first use (PEP 562): loading the config needs only the
light ``rules`` module, and the detector pulls in numpy and protobuf.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "JaegerConfig": "connectors.traces.jaeger",
    "JaegerConnector": "connectors.traces.jaeger",
    "Span": "connectors.traces.model",
    "TraceDetector": "connectors.traces.detect",
    "TraceRules": "connectors.traces.rules",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
