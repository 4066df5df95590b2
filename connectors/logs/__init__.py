"""Log-file connector: tail files and globs (JSON Lines, journald JSON, logfmt, regex).

Modules: :mod:`~connectors.logs.files` (which files, identity across rotation),
:mod:`~connectors.logs.reader` (complete lines, long lines, multi-line framing),
:mod:`~connectors.logs.parse` (pure record -> event), :mod:`~connectors.logs.connector`.

Exports are resolved on first use (PEP 562), as in :mod:`connectors.traces`: reading
the config needs only the config module, not the connector and its parsers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from connectors.logs.config import LogsConfig as LogsConfig
    from connectors.logs.connector import LogsConnector as LogsConnector

_EXPORTS = {
    "LogsConfig": "connectors.logs.config",
    "LogsConnector": "connectors.logs.connector",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
