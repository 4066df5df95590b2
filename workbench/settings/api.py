"""Settings of the REST API (the ``[api]`` table of the config file)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    max_import_bytes: int = Field(default=512_000_000, ge=1_024)
    """Largest bundle ``POST /api/investigations/import`` accepts (413 above it, checked
    the same way): a bundle carries a whole timeline (100k events are tens of MB), so
    that one route has its own limit instead of ``max_body_bytes``."""
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
    """Who may read ``/metrics``: anyone, any valid token of the default tenant, or its
    admin tokens only (its series cover every tenant: another tenant's token gets 403)."""
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
    tls_cert: Path | None = None
    """PEM certificate chain: with ``tls_key``, the API is served over HTTPS only (for
    teams that reach it across hosts; on loopback it adds nothing)."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert`` (keep it 0600)."""
    receivers: ReceiverSettings = Field(default_factory=ReceiverSettings)
    """Webhook secrets and OTLP trace rules (``[api.receivers]``; see brief B's receivers)."""

    @field_validator("tls_cert", "tls_key", mode="after")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        path = path.expanduser()
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        try:
            path.open("rb").close()
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        return path

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        # Checked here so that a bad pair is a config error naming the keys, not a
        # uvicorn traceback when the API starts.
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both, or neither")
        if self.tls_cert is not None and self.tls_key is not None:
            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                    self.tls_cert, self.tls_key)
            except (ssl.SSLError, OSError) as exc:
                raise ValueError(f"tls_cert/tls_key cannot be loaded as a PEM certificate "
                                 f"and its key: {exc}") from None
        return self

    def tls_options(self) -> dict[str, str]:
        """uvicorn's TLS options (empty: plain HTTP)."""
        if self.tls_cert is None or self.tls_key is None:
            return {}
        return {"ssl_certfile": str(self.tls_cert), "ssl_keyfile": str(self.tls_key)}
