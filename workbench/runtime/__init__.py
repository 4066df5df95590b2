"""The runtime: what runs beside the store in ``workbench serve`` and beside the TUI.

One typed service layer, started the same way by both modes (the CLI is a thin
shell over it): :class:`Runtime` holds what services share -- the config, the
store, the connector supervisor, its control facade and health registry -- and
starts :data:`~workbench.runtime.services.SERVICES` in order (leases,
connectors, grouping, the REST API), stopping them in reverse. See ``docs/architecture.md``.
"""

from workbench.runtime.core import Runtime, RuntimeOptions, Service

__all__ = ["Runtime", "RuntimeOptions", "Service"]
