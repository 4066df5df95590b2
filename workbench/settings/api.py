"""Settings of the REST API (the ``[api]`` table of the config file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.settings.receivers import ReceiverSettings


class ApiSettings(BaseModel):
    """Where and how the REST API is served."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Serve the API (beside the TUI, or with ``workbench serve``)."""
    host: str = "127.0.0.1"
    """Bind address; a bastion host has many users, keep it on loopback unless needed."""
    port: int = Field(default=8765, ge=0, le=65535)
    """TCP port."""
    max_body_bytes: int = Field(default=5_000_000, ge=1_024)
    """Largest request body accepted; bigger ones get 413 before they are read in full."""
    rate_limit_per_second: float = Field(default=200.0, gt=0)
    """Sustained requests per second allowed to one token (token-bucket refill rate)."""
    rate_limit_burst: int = Field(default=400, ge=1)
    """Requests one token may send in a burst (token-bucket capacity)."""
    auth_failures_per_second: float = Field(default=2.0, gt=0)
    """Sustained rate of wrong tokens tolerated from one client address."""
    auth_failures_burst: int = Field(default=20, ge=1)
    """Wrong tokens one client address may send at once before getting 429."""
    token_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    """How long a token that passed is trusted without a lookup; a revocation through
    the API applies at once, one made elsewhere (CLI, another instance) within this."""
    metrics_auth: Literal["none", "viewer", "admin"] = "viewer"
    """Who may read ``/metrics``: anyone, any valid token, or admin tokens only."""
    page_limit_default: int = Field(default=50, ge=1, le=500)
    """Page size when a request gives no ``limit``."""
    page_limit_max: int = Field(default=500, ge=1, le=500)
    """Largest page size; larger ``limit`` values are clamped to it."""
    limit_concurrency: int | None = Field(default=None, ge=1)
    """Cap on concurrent connections (uvicorn); beside the TUI a small cap keeps frames on time."""
    fast_reads: bool = True
    """Serve the hottest reads straight from SQLite (see ``workbench.api.hot``); no effect
    on PostgreSQL. Off only to compare the two paths."""
    docs: bool = True
    """Serve the interactive docs at ``/docs`` (the OpenAPI document is always served)."""
    receivers: ReceiverSettings = Field(default_factory=ReceiverSettings)
    """Webhook secrets and OTLP trace rules (``[api.receivers]``; see brief B's receivers)."""
