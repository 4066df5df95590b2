"""Config -> connector instances and DLQ parsers: the one place that reads ``[[connectors]]``.

The runtime, ``workbench sync`` and ``workbench dlq`` all build from here, so the
parsers that replay a dead letter are the same whichever command or mode asks:
every configured connector's, disabled ones included (their dead letters remain).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connector, ConnectorConfig
    from connectors.dlq import Parsers
    from workbench.config import Config

log = logging.getLogger(__name__)


class UnknownConnectorError(LookupError):
    """A connector was asked for by a name the config does not have."""


def build_connectors(config: Config, names: Sequence[str] = (), *, enabled_only: bool = True
                     ) -> tuple[list[tuple[Connector, ConnectorConfig]], dict[str, str]]:
    """Instances for the configured connectors, and ``name -> error`` for those that failed."""
    from connectors import registry

    wanted = set(names)
    unknown = wanted - {c.name for c in config.connectors}
    if unknown:
        raise UnknownConnectorError(
            f"no connector named {', '.join(sorted(unknown))} in the config")
    built: list[tuple[Connector, ConnectorConfig]] = []
    failed: dict[str, str] = {}
    for item in config.connectors:
        if (wanted and item.name not in wanted) or (enabled_only and not item.enabled):
            continue
        try:
            built.append((registry.build(item), item))
        except Exception as exc:  # one broken connector must not stop the others
            log.warning("connector %s could not be created: %s", item.name, exc)
            failed[item.name] = f"{type(exc).__name__}: {exc}"
    return built, failed


def parsers(config: Config) -> Parsers:
    """Every configured connector's parser (disabled ones too: their DLQ entries remain)."""
    from connectors.dlq import Parsers

    built, _ = build_connectors(config, enabled_only=False)
    return Parsers.of(connector for connector, _ in built)
