"""Settings of the push receivers (the ``[api.receivers]`` table of the config file).

Kept apart from the routes so that loading the config does not import the
receivers' parsing stack. Secrets are references (``"env:NAME"``, ``"file:PATH"``),
resolved on every request so a rotated secret file needs no restart.

Secrets belong to a tenant: the ones at the top of the table to the default tenant
(a single-tenant install has only those), the ones of ``[api.receivers.tenants.NAME]``
to tenant ``NAME``. A delivery is stored in the tenant whose secret verified it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from connectors.secrets import SecretRef
from connectors.traces.rules import TraceRules
from storage.tenant_context import DEFAULT_TENANT_NAME

SECRET_FIELDS = ("github_secret", "gitlab_token", "alertmanager_token", "otlp_token")
"""The secret keys, the same at the top of ``[api.receivers]`` and in each tenant's table."""


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
        found: list[tuple[str, SecretRef]] = []
        for tenant, secrets in [(DEFAULT_TENANT_NAME, self), *sorted(self.tenants.items())]:
            ref: SecretRef | None = getattr(secrets, field)
            if ref is not None:
                found.append((tenant, ref))
        return found
