"""Git connector: one event per commit from local repositories, via the git command line.

See :mod:`connectors.git.connector` for the cursor design (force pushes, unreachable
tips) and :mod:`connectors.git.parse` for the record format.

Exports are resolved on first use (PEP 562), as in :mod:`connectors.traces`: reading
the config needs only the config module, not the connector and its parsers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from connectors.git.config import GitConfig as GitConfig
    from connectors.git.connector import GitConnector as GitConnector

_EXPORTS = {
    "GitConfig": "connectors.git.config",
    "GitConnector": "connectors.git.connector",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
