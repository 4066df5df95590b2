"""Settings of the TUI (the ``[tui]`` table of the config file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TuiSettings(BaseModel):
    """How the TUI looks, how often it polls and which keys it binds."""

    model_config = ConfigDict(extra="forbid")

    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id -> keys (comma-separated), overriding the defaults (see ``?``)."""
    poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    """Pause between the end of one refresh and the start of the next."""
    timeline_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    """Half-width of the "events around this investigation" window (`w` on a timeline)."""
    page_size: int = Field(default=200, ge=10, le=500)
    """Rows fetched per keyset page by the virtualised lists."""
    read_only: bool = False
    """Open without any action that writes (someone shadowing the on-call)."""
