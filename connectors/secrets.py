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
        """The secret's value (first line of the file, stripped). Blocking for files.

        A failure says where the secret was looked for and what was found there
        ("configured as env:X, but X is unset"), never a value.
        """
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                state = "unset" if value is None else "empty"
                raise SecretError(f"configured as {self.reference}, but {self.env} is {state}")
            return value
        assert self.file is not None
        try:
            lines = self.file.expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SecretError(f"configured as {self.reference}, but {self.file} cannot be "
                              f"read: {exc.strerror or exc}") from exc
        if not lines or not lines[0].strip():
            raise SecretError(f"configured as {self.reference}, but {self.file} is empty")
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


def secret_references(value: Any, path: str = "") -> list[tuple[str, SecretRef]]:
    """Every :class:`SecretRef` inside a model (nested models, lists, dicts), with its
    dotted path (``api.receivers.gitlab_token``, ``connectors[0].token``).

    Walking the models themselves, rather than listing the fields that hold secrets,
    means a secret added anywhere later is checked too.
    """
    if isinstance(value, SecretRef):
        return [(path, value)]
    if isinstance(value, BaseModel):
        return [found for name in type(value).model_fields
                for found in secret_references(getattr(value, name), _join(path, name))]
    if isinstance(value, list | tuple):
        return [found for index, item in enumerate(value)
                for found in secret_references(item, f"{path}[{index}]")]
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in secret_references(item, _join(path, str(key)))]
    return []


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
