"""Settings of the TUI (the ``[tui]`` table of the config file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.secrets import SecretRef


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
    user: str | None = Field(default=None, min_length=1, max_length=256)
    """Who sits at this TUI when several people share one OS account (default: the OS
    user): keys their "new since you looked", last screen and the author of writes."""
    token: SecretRef | None = None
    """Require an API token for this TUI (``"env:WB_TOKEN"``, ``"file:PATH"``): it must be
    a live token of the store; its name becomes the user and a viewer token cannot write."""
    display_zone: str = "UTC"
    """Where times are shown: ``UTC``, ``local`` (this machine's zone) or an IANA name
    (``Europe/Paris``). ``Z`` switches between UTC and it; the choice is kept per user."""

    @field_validator("display_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from storage.times import display_zone

        return display_zone(value).name  # a typo is an error at start-up, not UTC
