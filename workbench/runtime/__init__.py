"""The runtime: what runs beside the store in ``workbench serve`` and beside the TUI.

One typed service layer, started the same way by both modes (the CLI is a thin
shell over it): :class:`Runtime` holds what services share -- the config, the
store, the connector supervisor, its control facade and health registry -- and
starts :data:`~workbench.runtime.services.SERVICES` in order (leases,
connectors, grouping, the REST API), stopping them in reverse. See ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.runtime.core import Runtime, RuntimeOptions, Service
from workbench.runtime.services import SERVICES

if TYPE_CHECKING:
    from storage import Store
    from workbench.config import Config

__all__ = ["SERVICES", "Runtime", "RuntimeOptions", "Service", "build_runtime"]


def build_runtime(config: Config, store: Store, options: RuntimeOptions | None = None
                  ) -> Runtime:
    """The runtime ``serve`` and the TUI start: every service of :data:`SERVICES`."""
    return Runtime(config, store, options or RuntimeOptions(), services=SERVICES)
