"""Git connector: one event per commit from local repositories, via the git command line.

See :mod:`connectors.git.connector` for the cursor design (force pushes, unreachable
tips) and :mod:`connectors.git.parse` for the record format.
"""

from connectors.git.config import GitConfig
from connectors.git.connector import GitConnector

__all__ = ["GitConfig", "GitConnector"]
