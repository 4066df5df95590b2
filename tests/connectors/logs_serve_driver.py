"""A headless tailing process for the kill -9 test: the supervisor + the logs connector.

Stands in for ``workbench serve`` where that command is not available; it runs the
same runtime pieces (``connectors.supervisor.Supervisor`` writing through the one
ingest path). Usage: ``python -m tests.connectors.logs_serve_driver DB GLOB``.
"""

from __future__ import annotations

import asyncio
import sys

from connectors.logs import LogsConfig, LogsConnector
from connectors.supervisor import Supervisor
from storage import Store


async def _serve(db: str, pattern: str) -> None:
    store = Store.open(db)
    config = LogsConfig(name="tail", paths=[pattern], interval_seconds=0.05,
                        rotate_wait_seconds=1.0, multiline_flush_seconds=0.0,
                        max_batch_records=500)
    async with Supervisor(store, [(LogsConnector(config), config)], jitter=0.0):
        await asyncio.Event().wait()


def main() -> None:
    """Run until killed."""
    asyncio.run(_serve(sys.argv[1], sys.argv[2]))


if __name__ == "__main__":
    main()
