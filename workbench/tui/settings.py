"""Settings of the TUI (the ``[tui]`` table of the config file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TuiSettings(BaseModel):
    """How the TUI looks and which keys it binds."""

    model_config = ConfigDict(extra="forbid")

    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id -> keys (comma-separated), overriding the defaults."""
