"""Log-file connector: tail files and globs (JSON Lines, journald JSON, logfmt, regex).

Modules: :mod:`~connectors.logs.files` (which files, identity across rotation),
:mod:`~connectors.logs.reader` (complete lines, long lines, multi-line framing),
:mod:`~connectors.logs.parse` (pure record -> event), :mod:`~connectors.logs.connector`.
"""

from connectors.logs.config import LogsConfig
from connectors.logs.connector import LogsConnector

__all__ = ["LogsConfig", "LogsConnector"]
