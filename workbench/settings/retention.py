"""The ``[retention]`` table: how long events are kept, per source."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from storage.models import Source


class RetentionSettings(BaseModel):
    """``[retention]``: off unless ``days`` or a source's days are set.

    ``days`` is the default for every source; ``sources`` sets a source's own
    (``logs = 14``). ``workbench serve`` purges every ``interval_minutes``; events
    linked to an investigation are always kept.
    """

    model_config = ConfigDict(extra="forbid")

    days: float | None = Field(default=None, gt=0)
    sources: dict[str, float] = Field(default_factory=dict)
    interval_minutes: float = Field(default=60.0, gt=0)
    batch: int = Field(default=250, ge=1, le=100_000)
    """Events per purge transaction: each holds the write lock while it deletes (on a
    2-core machine about 0.1 ms an event), and writers wait for it."""

    @model_validator(mode="after")
    def _known_sources(self) -> RetentionSettings:
        known = {s.value for s in Source}
        unknown = sorted(set(self.sources) - known)
        if unknown:
            raise ValueError(f"unknown source(s) {', '.join(unknown)} "
                             f"(sources: {', '.join(sorted(known))})")
        if any(days <= 0 for days in self.sources.values()):
            raise ValueError("a source's days must be positive")
        return self

    @property
    def enabled(self) -> bool:
        return self.days is not None or bool(self.sources)

    def cutoffs(self, now: datetime, days: float | None = None) -> dict[str, datetime]:
        """Per source, the time before which events go (``days`` overrides everything)."""
        out: dict[str, datetime] = {}
        for source in Source:
            keep = days if days is not None else self.sources.get(source.value, self.days)
            if keep is not None:
                out[source.value] = now - timedelta(days=keep)
        return out
