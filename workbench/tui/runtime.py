"""What the TUI needs from the runtime that runs beside it (``workbench.runtime.Runtime``).

The TUI does not import the runtime (the runtime starts the REST API, and the TUI
and the API must not depend on each other); the CLI builds the runtime and hands
it to the app, which starts it on Textual's own loop shortly after the first list is
shown (``WorkbenchApp.start_services``) and stops it on unmount. This protocol is the
whole seam: start/stop, the control facade of the connector supervisor, and the DLQ
parsers of every configured connector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from connectors.control import Control
    from connectors.dlq import Parsers

log = logging.getLogger(__name__)


class BesideRuntime(Protocol):
    """The services running on the TUI's loop (connectors, grouping, the API thread)."""

    @property
    def control(self) -> Control | None:
        """The supervisor's control facade, once connectors run in this process."""

    @property
    def parsers(self) -> Parsers | None:
        """Every configured connector's DLQ parser, once the runtime has started."""

    async def start(self, on_error: Callable[[str, Exception], None] | None = None) -> None:
        """Start every service; ``on_error`` hears of each one that did not start."""

    async def stop(self) -> None:
        """Stop the services in reverse order, never raising."""
