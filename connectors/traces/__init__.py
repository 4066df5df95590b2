"""Trace sources: Jaeger query API (pull) and OTLP/HTTP (push), with one detector."""

from connectors.traces.detect import TraceDetector
from connectors.traces.jaeger import JaegerConfig, JaegerConnector
from connectors.traces.model import Span
from connectors.traces.rules import TraceRules

__all__ = ["JaegerConfig", "JaegerConnector", "Span", "TraceDetector", "TraceRules"]
