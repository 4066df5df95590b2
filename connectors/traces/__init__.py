"""Trace sources: Jaeger query API (pull) and OTLP/HTTP (push), with one detector."""

from connectors.traces.detect import TraceDetector, TraceRules
from connectors.traces.jaeger import JaegerConfig, JaegerConnector
from connectors.traces.model import Span

__all__ = ["JaegerConfig", "JaegerConnector", "Span", "TraceDetector", "TraceRules"]
