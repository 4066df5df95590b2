"""Secrets by reference: configs name where a secret is, never the secret itself.

A :class:`SecretRef` is an environment variable or a file. It is resolved when a
connector needs it (so rotating a token file needs no restart), is never stored in
the database, and its ``str``/``repr``/JSON show only the reference. In a config:

    token_env = "GITHUB_TOKEN"          # a connector's own fields, turned into a
    token_file = "/run/secrets/gh"      # SecretRef with secret_from(env, file)
    token = { env = "GITHUB_TOKEN" }    # or a SecretRef field directly
    token = "env:GITHUB_TOKEN"          # the same, short form (also "file:/path")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from connectors.errors import PermanentSourceError

REDACTED = "***"


class SecretError(PermanentSourceError):
    """A reference that cannot be resolved; the message names the reference, not a value."""


class SecretRef(BaseModel):
    """Where a secret is: exactly one of ``env`` (a variable name) or ``file`` (a path)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            scheme, sep, target = value.partition(":")
            if not sep or scheme not in ("env", "file") or not target:
                raise ValueError("a secret reference is 'env:NAME' or 'file:PATH' "
                                 "(never the secret itself)")
            return {scheme: target}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        if self.env is not None and not self.env.strip():
            raise ValueError("'env' must name an environment variable")
        return self

    @property
    def reference(self) -> str:
        """``env:NAME`` or ``file:PATH``: safe to print."""
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"

    def __str__(self) -> str:
        return self.reference

    def __repr__(self) -> str:
        return f"SecretRef({self.reference!r})"

    def resolve(self) -> str:
        """The secret's value (first line of the file, stripped). Blocking for files."""
        if self.env is not None:
            value = os.environ.get(self.env, "")
            if not value:
                raise SecretError(f"secret {self.reference}: environment variable not set")
            return value
        assert self.file is not None
        try:
            lines = self.file.expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SecretError(f"secret {self.reference}: {exc.strerror or exc}") from exc
        if not lines or not lines[0].strip():
            raise SecretError(f"secret {self.reference}: file is empty")
        return lines[0].strip()

    def check(self) -> str | None:
        """Why the secret cannot be resolved right now, or ``None`` if it can."""
        try:
            self.resolve()
        except SecretError as exc:
            return str(exc)
        return None


def secret_from(env: str | None, file: str | os.PathLike[str] | None) -> SecretRef | None:
    """A reference from a ``token_env``/``token_file`` pair (``None`` if neither is set)."""
    if env is None and file is None:
        return None
    return SecretRef(env=env, file=Path(file) if file is not None else None)


SECRET_WORDS = ("token", "password", "secret", "api_key", "apikey", "credential")
REFERENCE_SUFFIXES = ("_env", "_file", "_ref")


def looks_secret(key: str) -> bool:
    """Whether a config key probably holds a secret value (not a reference to one)."""
    lowered = key.lower()
    return (any(word in lowered for word in SECRET_WORDS)
            and not lowered.endswith(REFERENCE_SUFFIXES))


def redact(value: Any, key: str = "") -> Any:
    """A copy of plain data with secret-looking values replaced by ``***``."""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str) and looks_secret(key) and not _is_reference(value):
        return REDACTED
    return value


def _is_reference(value: str) -> bool:
    return value.startswith(("env:", "file:"))
