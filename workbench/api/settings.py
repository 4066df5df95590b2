"""Settings of the REST API (the ``[api]`` table of the config file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApiSettings(BaseModel):
    """Where and how the REST API is served."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Serve the API (beside the TUI, or with ``workbench serve``)."""
    host: str = "127.0.0.1"
    """Bind address; a bastion host has many users, keep it on loopback unless needed."""
    port: int = Field(default=8765, ge=0, le=65535)
    """TCP port."""
