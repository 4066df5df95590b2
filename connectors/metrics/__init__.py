"""Metrics sources: Prometheus (pull) and Datadog responses, with z-score anomaly episodes."""

from connectors.metrics.detect import MetricQuery
from connectors.metrics.episodes import Direction, MetricType
from connectors.metrics.prometheus import PrometheusConfig, PrometheusConnector

__all__ = ["Direction", "MetricQuery", "MetricType", "PrometheusConfig", "PrometheusConnector"]
