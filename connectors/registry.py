"""Which connector kinds exist: ``kind -> (config model, factory)``.

Entries name their classes as ``"module:attribute"`` strings and are imported only
when used, so validating a config with a git connector never imports the HTTP
stack, and a kind whose module is broken fails with a clear error only when used.
Add a kind by adding one :class:`Entry` to :data:`KINDS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from connectors.base import Connector, ConnectorConfig

Factory = Callable[[Any], Connector]


class UnknownKindError(LookupError):
    """No connector kind of that name is registered."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One connector kind: its config model and a factory ``config -> Connector``."""

    kind: str
    config: str
    factory: str
    description: str = ""

    def config_model(self) -> type[ConnectorConfig]:
        """The pydantic model that validates a ``[[connectors]]`` entry of this kind."""
        return cast(type[ConnectorConfig], _resolve(self.config))

    def build(self, config: ConnectorConfig) -> Connector:
        """A connector instance for ``config``."""
        factory = cast(Factory, _resolve(self.factory))
        return factory(config)


def _prometheus(config: Any) -> Connector:
    """Network connectors get their own client; the supervisor closes it on shutdown."""
    import httpx

    from connectors.metrics.prometheus import PrometheusConnector

    client = httpx.AsyncClient(timeout=config.timeout_seconds)
    connector = PrometheusConnector(config, client)
    connector.aclose = client.aclose  # type: ignore[attr-defined]
    return cast(Connector, connector)


KINDS: dict[str, Entry] = {
    entry.kind: entry
    for entry in (
        Entry("git", "connectors.git.config:GitConfig", "connectors.git.connector:GitConnector",
              "local git repositories through the git command line"),
        Entry("logs", "connectors.logs.config:LogsConfig",
              "connectors.logs.connector:LogsConnector",
              "log files and globs: JSON Lines, journald JSON, logfmt, regex/plain text"),
        Entry("prometheus", "connectors.metrics.prometheus:PrometheusConfig",
              "connectors.registry:_prometheus", "anomalies in Prometheus query results"),
    )
}


def entry(kind: str) -> Entry:
    """The entry for ``kind``; :class:`UnknownKindError` lists the known kinds."""
    try:
        return KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(KINDS)) or "none"
        raise UnknownKindError(f"unknown connector kind {kind!r} (known: {known})") from None


def validate(data: dict[str, Any]) -> ConnectorConfig:
    """Validate one ``[[connectors]]`` table with the model its ``kind`` names."""
    return entry(str(data.get("kind"))).config_model().model_validate(data)


def build(config: ConnectorConfig) -> Connector:
    """The connector for a validated config."""
    return entry(config.kind).build(config)


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)
