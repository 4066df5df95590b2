"""Settings of the push receivers (the ``[api.receivers]`` table of the config file).

Kept apart from the routes so that loading the config does not import the
receivers' parsing stack. Secrets are references (``"env:NAME"``, ``"file:PATH"``),
resolved on every request so a rotated secret file needs no restart.

Secrets belong to a tenant: the ones at the top of the table to the default tenant
(a single-tenant install has only those), the ones of ``[api.receivers.tenants.NAME]``
to tenant ``NAME``. A delivery is stored in the tenant whose secret verified it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from pydantic import BaseModel, ConfigDict, Field

from connectors.secrets import SecretRef
from connectors.traces.rules import TraceRules
from storage.tenant_context import DEFAULT_TENANT_NAME

SECRET_FIELDS = ("github_secret", "gitlab_token", "alertmanager_token", "otlp_token")
"""The secret keys, the same at the top of ``[api.receivers]`` and in each tenant's table."""
TABLE = "api.receivers"
"""Where these settings sit in the config file (the key paths of problems start here)."""


class ReceiverSecrets(BaseModel):
    """The webhook secrets of one tenant."""

    model_config = ConfigDict(extra="forbid")

    github_secret: SecretRef | None = None
    """GitHub webhook secret; without it every GitHub delivery is refused (401)."""
    gitlab_token: SecretRef | None = None
    """GitLab webhook secret token; without it every GitLab delivery is refused (401)."""
    alertmanager_token: SecretRef | None = None
    """Bearer token Alertmanager must send (its ``http_config.authorization``); if unset,
    Alertmanager must send an API token with the responder role instead."""
    otlp_token: SecretRef | None = None
    """Bearer token OTLP exporters must send (``OTEL_EXPORTER_OTLP_HEADERS``); if unset,
    exporters must send an API token with the responder role instead."""


class ReceiverSettings(ReceiverSecrets):
    """Secrets of the webhook receivers (the default tenant's here, other tenants' in
    ``tenants``) and the rules of the OTLP trace receiver."""

    traces: TraceRules = Field(default_factory=TraceRules)
    """Slow-trace thresholds and baselines for spans received over OTLP."""
    tenants: dict[str, ReceiverSecrets] = Field(default_factory=dict)
    """Other tenants' secrets by tenant name (``[api.receivers.tenants.acme]``); a
    delivery verified by one of them is stored in that tenant."""

    def secrets_by_tenant(self, field: str) -> list[tuple[str, SecretRef]]:
        """Every configured ``field`` secret with its tenant's name, the default first."""
        return [(tenant, ref) for tenant, _, ref in self.secret_paths(field)]

    def secret_paths(self, field: str) -> list[tuple[str, str, SecretRef]]:
        """:meth:`secrets_by_tenant` with each secret's key path in the config file."""
        found: list[tuple[str, str, SecretRef]] = []
        for tenant, secrets in [(DEFAULT_TENANT_NAME, self), *sorted(self.tenants.items())]:
            ref: SecretRef | None = getattr(secrets, field)
            if ref is not None:
                path = TABLE if secrets is self else f"{TABLE}.tenants.{tenant}"
                found.append((tenant, f"{path}.{field}", ref))
        return found

    def shared_secrets(self, value: Callable[[SecretRef], Hashable | None]
                       ) -> list[str]:
        """A problem for each secret that two tenants share on one receiver (same
        ``value``: the reference itself when the config is loaded, the resolved secret
        when it is checked): a delivery signed with it would verify for both, so it
        could not say which tenant it belongs to. ``value`` ``None``: not comparable
        (unresolvable), skipped. Never shows a secret."""
        problems = []
        for field in SECRET_FIELDS:
            first: dict[Hashable, tuple[str, str]] = {}
            for tenant, path, ref in self.secret_paths(field):
                key = value(ref)
                if key is None:
                    continue
                if key in first:
                    other, other_path = first[key]
                    problems.append(
                        f"{path}: the same secret as {other_path}, so tenants {other!r} and "
                        f"{tenant!r} share it and a delivery cannot tell them apart "
                        "(give each tenant its own)")
                else:
                    first[key] = (tenant, path)
        return problems
