"""The tenants a config names, checked against the store.

A tenant is made in the store (``workbench tenant create``); the config only names it:
a connector's ``tenant``, ``[tui] tenant`` and each ``[api.receivers.tenants.NAME]``.
Loading the config cannot see a name the store lacks (it has no store), so the names
are checked where the store is at hand, each problem with its key path like every
config problem: ``workbench config check --store`` lists them all; the API refuses to
start with receivers of a tenant the store does not have (``serve`` stops and says
why, the TUI says the API did not start and carries on) rather than refusing each
delivery later; a connector of such a tenant is not started (like a connector that
cannot be built: the others run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.settings.receivers import TABLE, ReceiverSettings

if TYPE_CHECKING:
    from storage import Store
    from workbench.config import Config

Reference = tuple[str, str]
"""``(key path, tenant name)``: where the config names a tenant."""


class UnknownTenantError(ValueError):
    """The config names tenants the store does not have; ``problems`` says where."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def receiver_tenants(settings: ReceiverSettings) -> list[Reference]:
    """The tenants of ``[api.receivers.tenants.NAME]``."""
    return [(f"{TABLE}.tenants.{name}", name) for name in sorted(settings.tenants)]


def connector_tenants(config: Config) -> list[Reference]:
    """The tenants of the ``[[connectors]]`` that name one."""
    return [(f"connectors[{index}].tenant", item.tenant)
            for index, item in enumerate(config.connectors) if item.tenant is not None]


def tenant_references(config: Config) -> list[Reference]:
    """Every place the config names a tenant."""
    tui = [("tui.tenant", config.tui.tenant)] if config.tui.tenant is not None else []
    return [*connector_tenants(config), *tui, *receiver_tenants(config.api.receivers)]


def missing_tenants(store: Store, references: Sequence[Reference]) -> list[Reference]:
    """The references to a tenant ``store`` does not have (no store read when nothing
    is named: a single-tenant config)."""
    if not references:
        return []
    from storage import tenants

    with store.read() as session:
        known = {t.name for t in tenants.list_tenants(session=session)}
    return [(path, name) for path, name in references if name not in known]


def problem(reference: Reference) -> str:
    """What is wrong with a reference to a tenant the store lacks, and what to do."""
    path, name = reference
    return (f"{path}: no tenant named {name!r} in the store (`workbench tenant create "
            f"{name}`; `workbench tenant list` shows those it has)")


def unknown_tenants(store: Store, references: Sequence[Reference]) -> list[str]:
    """A problem for each reference to a tenant ``store`` does not have."""
    return [problem(found) for found in missing_tenants(store, references)]


def require_receiver_tenants(settings: ReceiverSettings, store: Store) -> None:
    """:class:`UnknownTenantError` unless every receiver tenant exists (API start-up)."""
    problems = unknown_tenants(store, receiver_tenants(settings))
    if problems:
        raise UnknownTenantError(problems)
