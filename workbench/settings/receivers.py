"""Settings of the push receivers (the ``[api.receivers]`` table of the config file).

Kept apart from the routes so that loading the config does not import the
receivers' parsing stack. Secrets are references (``"env:NAME"``, ``"file:PATH"``),
resolved on every request so a rotated secret file needs no restart.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from connectors.secrets import SecretRef
from connectors.traces.rules import TraceRules


class ReceiverSettings(BaseModel):
    """Secrets of the webhook receivers and the rules of the OTLP trace receiver."""

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
    traces: TraceRules = Field(default_factory=TraceRules)
    """Slow-trace thresholds and baselines for spans received over OTLP."""
