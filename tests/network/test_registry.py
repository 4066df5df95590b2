"""The network kinds are registered: their configs validate and they build connectors."""

from __future__ import annotations

from typing import Any

import pytest

from connectors import registry
from connectors.base import Connector

CONFIGS: list[dict[str, Any]] = [
    {"kind": "prometheus", "url": "http://prom:9090",
     "queries": [{"name": "lat", "query": "x", "metric_type": "latency"}]},
    {"kind": "alertmanager", "url": "http://am:9093"},
    {"kind": "jaeger", "url": "http://jaeger:16686", "rules": {"thresholds_ms": {"api": 500}}},
    {"kind": "github_actions", "repository": "octo-org/Hello-World", "token": "env:GH"},
    {"kind": "gitlab", "url": "https://gitlab.test", "project": "group/name"},
    {"kind": "datadog", "site": "datadoghq.eu", "api_key": "env:DD_API_KEY",
     "app_key": "file:/run/secrets/dd_app", "queries": [{"name": "cpu", "query": "x{*}"}]},
]


@pytest.mark.parametrize("data", CONFIGS, ids=[c["kind"] for c in CONFIGS])
async def test_kind_builds_a_connector(data: dict[str, Any]) -> None:
    config = registry.validate({"name": f"my-{data['kind']}", **data})
    connector = registry.build(config)
    assert isinstance(connector, Connector)
    assert connector.name == f"my-{data['kind']}" and connector.kind == data["kind"]
    await connector.aclose()  # type: ignore[attr-defined]


def test_bad_config_is_a_validation_error() -> None:
    with pytest.raises(ValueError, match="repository"):
        registry.validate({"name": "x", "kind": "github_actions", "repository": "no slash"})
    with pytest.raises(ValueError, match="metric_type"):
        registry.validate({"name": "x", "kind": "prometheus", "url": "u",
                           "queries": [{"name": "q", "query": "x", "metric_type": "nope"}]})
