"""Secrets by reference: configs name where a secret is, never the secret itself.

A :class:`SecretRef` is an environment variable, a file or a field of a Vault secret
(:mod:`connectors.vault`). It is resolved when a connector needs it (so rotating a
token file needs no restart), is never stored in the database, and its
``str``/``repr``/JSON show only the reference. In a config:

    token_env = "GITHUB_TOKEN"          # a connector's own fields, turned into a
    token_file = "/run/secrets/gh"      # SecretRef with secret_from(env, file)
    token = { env = "GITHUB_TOKEN" }    # or a SecretRef field directly
    token = "env:GITHUB_TOKEN"          # the same, short form (also "file:/path")
    token = "vault:secret/data/workbench#github_token"    # a field of a Vault secret

Vault Agent's rendered files (``template`` stanzas) work through ``file:`` too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from connectors.errors import ConnectorError, PermanentSourceError

REDACTED = "***"
SCHEMES = ("env", "file", "vault")


class SecretError(PermanentSourceError):
    """A reference that cannot be resolved; the message names the reference, not a value."""


class SecretRef(BaseModel):
    """Where a secret is: exactly one of ``env`` (a variable name), ``file`` (a path) or
    ``vault`` (``PATH#FIELD`` of a Vault secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str | None = None
    file: Path | None = None
    vault: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            scheme, sep, target = value.partition(":")
            if not sep or scheme not in SCHEMES or not target:
                raise ValueError("a secret reference is 'env:NAME', 'file:PATH' or "
                                 "'vault:PATH#FIELD' (never the secret itself)")
            return {scheme: target}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if sum(x is not None for x in (self.env, self.file, self.vault)) != 1:
            raise ValueError("give exactly one of 'env', 'file' or 'vault'")
        if self.env is not None and not self.env.strip():
            raise ValueError("'env' must name an environment variable")
        if self.vault is not None:
            split_reference(self.vault)
        return self

    @property
    def reference(self) -> str:
        """``env:NAME``, ``file:PATH`` or ``vault:PATH#FIELD``: safe to print."""
        if self.env is not None:
            return f"env:{self.env}"
        return f"vault:{self.vault}" if self.vault is not None else f"file:{self.file}"

    def __str__(self) -> str:
        return self.reference

    def __repr__(self) -> str:
        return f"SecretRef({self.reference!r})"

    def resolve(self) -> str:
        """The secret's value (first line of the file, stripped). Blocking for files and
        Vault: connectors call it in a worker thread.

        A failure says where the secret was looked for and what was found there
        ("configured as env:X, but X is unset"), never a value. Vault being unreachable
        is a :class:`~connectors.errors.TransientSourceError` (retried); Vault refusing
        or lacking the secret is a :class:`SecretError`.
        """
        if self.vault is not None:
            return self._resolve_vault(self.vault)
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

    def _resolve_vault(self, target: str) -> str:
        from connectors import vault  # httpx and Vault only for configs that use it

        path, key = split_reference(target)
        try:
            return vault.client_from_env().read(path, key)
        except vault.VaultError as exc:
            raise SecretError(f"configured as {self.reference}, but {exc}") from exc
        except vault.VaultUnavailable as exc:
            raise vault.VaultUnavailable(f"configured as {self.reference}, but {exc}") from exc

    def check(self) -> str | None:
        """Why the secret cannot be resolved right now, or ``None`` if it can."""
        try:
            self.resolve()
        except ConnectorError as exc:
            return str(exc)
        return None


def split_reference(target: str) -> tuple[str, str]:
    """``secret/data/app#field`` → (``secret/data/app``, ``field``); ValueError otherwise."""
    path, sep, key = target.rpartition("#")
    if not sep or not path.strip("/") or not key:
        raise ValueError("a Vault reference is 'vault:PATH#FIELD', "
                         "e.g. 'vault:secret/data/workbench#github_token'")
    return path.strip("/"), key


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
    return value.startswith(tuple(f"{scheme}:" for scheme in SCHEMES))


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
