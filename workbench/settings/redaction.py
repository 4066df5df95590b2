"""The ``[redaction]`` table: which detectors redact what, before anything is stored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from storage.redaction import BUILTIN, Policy


class RedactionSettings(BaseModel):
    """``[redaction]``: on by default with every built-in detector.

    ``detectors`` apply to every source; ``sources`` overrides them for a source
    (``logs``, ``ci``, ``git``, ``traces``, ``metrics``, ``manual``) or a connector by
    name; ``custom`` adds named patterns usable in both lists like built-ins.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    detectors: list[str] = Field(default_factory=lambda: list(BUILTIN))
    sources: dict[str, list[str]] = Field(default_factory=dict)
    custom: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid(self) -> RedactionSettings:
        self.policy()           # unknown detector names and bad regexes fail at load
        return self

    def policy(self) -> Policy | None:
        """The policy a store applies at ingest (``None`` when disabled)."""
        if not self.enabled:
            return None
        return Policy(default=tuple(self.detectors),
                      sources={k: tuple(v) for k, v in self.sources.items()},
                      custom=dict(self.custom))
