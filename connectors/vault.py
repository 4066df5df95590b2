"""Secrets read from HashiCorp Vault: the ``vault:PATH#KEY`` reference.

``vault:secret/data/workbench#github_token`` reads the field ``github_token`` of the
secret at API path ``secret/data/workbench`` (a KV v2 engine mounted at ``secret``;
a KV v1 path such as ``kv/workbench`` works too — the reply says which it is).

Where Vault is and how to log in come from the environment, as Vault's own CLI and
Agent read them, so a config file never holds a Vault credential:

- ``VAULT_ADDR`` (required), ``VAULT_NAMESPACE``, ``VAULT_CACERT``;
- ``VAULT_TOKEN``, else ``VAULT_ROLE_ID`` + ``VAULT_SECRET_ID`` for an AppRole login
  (mount ``VAULT_APPROLE_PATH``, default ``approle``), else the CLI's token file
  ``~/.vault-token``.

Values are cached for the lease Vault gives them (KV v1 ``lease_duration``); KV v2
gives none, so its values are re-read after ``WORKBENCH_VAULT_CACHE_SECONDS`` (default
300). An AppRole token is renewed by logging in again before its own lease ends, and
once more if Vault refuses it (revoked early). Calls block: connectors resolve
secrets in a worker thread, as they do for ``file:`` references.

httpx rather than the ``hvac`` client: two endpoints are needed (a read and a login),
httpx is already the project's client with its timeouts and transports, and ``hvac``
would bring ``requests`` and its own retry and TLS settings alongside.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from connectors.errors import PermanentSourceError, TransientSourceError

DEFAULT_CACHE_SECONDS = 300.0
RENEW_MARGIN = 0.1
"""Log in again when this share of the token's lease is left."""


class VaultError(PermanentSourceError):
    """Vault refused or does not hold what the reference names (not retried)."""


class VaultUnavailable(TransientSourceError):
    """Vault could not be reached or answered 5xx (retried like any source)."""


@dataclass(frozen=True)
class VaultSettings:
    """Where Vault is and how to authenticate, read from the environment."""

    address: str
    token: str | None = None
    role_id: str | None = None
    secret_id: str | None = None
    approle_path: str = "approle"
    namespace: str | None = None
    ca_cert: str | None = None
    cache_seconds: float = DEFAULT_CACHE_SECONDS
    timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 home: Path | None = None) -> VaultSettings:
        env = os.environ if environ is None else environ
        address = env.get("VAULT_ADDR", "").strip()
        if not address:
            raise VaultError("VAULT_ADDR is unset (where Vault listens, e.g. "
                             "https://vault.internal:8200)")
        token = env.get("VAULT_TOKEN") or None
        role_id, secret_id = env.get("VAULT_ROLE_ID") or None, env.get("VAULT_SECRET_ID") or None
        if token is None and role_id is None:
            token = _token_file(home or Path.home())
        if token is None and role_id is None:
            raise VaultError("no Vault credential: set VAULT_TOKEN, or VAULT_ROLE_ID and "
                             "VAULT_SECRET_ID for an AppRole login")
        try:
            cache = float(env.get("WORKBENCH_VAULT_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
        except ValueError as exc:
            raise VaultError("WORKBENCH_VAULT_CACHE_SECONDS is not a number") from exc
        return cls(address=address.rstrip("/"), token=token, role_id=role_id,
                   secret_id=secret_id, approle_path=env.get("VAULT_APPROLE_PATH", "approle"),
                   namespace=env.get("VAULT_NAMESPACE") or None,
                   ca_cert=env.get("VAULT_CACERT") or None, cache_seconds=max(cache, 0.0))


def _token_file(home: Path) -> str | None:
    try:
        token = (home / ".vault-token").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return token or None


@dataclass
class _Cached:
    data: Mapping[str, Any]
    expires: float


class VaultClient:
    """Reads secret fields, caching each secret for its lease. Thread-safe."""

    def __init__(self, settings: VaultSettings, *, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}
        self._token = settings.token
        self._token_expires = float("inf")
        headers = {"X-Vault-Namespace": settings.namespace} if settings.namespace else {}
        self._http = httpx.Client(base_url=f"{settings.address}/v1/", headers=headers,
                                  timeout=settings.timeout, transport=transport,
                                  verify=settings.ca_cert or True)

    def read(self, path: str, key: str) -> str:
        """The field ``key`` of the secret at ``path`` (from the cache while its lease lasts)."""
        with self._lock:
            cached = self._cache.get(path)
            if cached is None or self._clock() >= cached.expires:
                cached = self._fetch(path)
                self._cache[path] = cached
        if key not in cached.data:
            raise VaultError(f"the secret at {path} has no field {key!r} "
                             f"(fields: {', '.join(sorted(cached.data)) or 'none'})")
        value = cached.data[key]
        if not isinstance(value, str) or not value:
            raise VaultError(f"field {key!r} of the secret at {path} is not a non-empty string")
        return value

    def close(self) -> None:
        self._http.close()

    def _fetch(self, path: str) -> _Cached:
        reply = self._request("GET", path.strip("/"), authenticated=True)
        if reply.status_code in (403, 401) and self.settings.role_id is not None:
            self._token = None                      # revoked early: log in once more
            reply = self._request("GET", path.strip("/"), authenticated=True)
        body = _json(reply, f"reading {path}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise VaultError(f"Vault's reply for {path} holds no data")
        if isinstance(data.get("data"), dict) and isinstance(data.get("metadata"), dict):
            data = data["data"]                     # KV v2: the fields are one level down
        lease = body.get("lease_duration")
        ttl = float(lease) if isinstance(lease, int | float) and lease > 0 else \
            self.settings.cache_seconds
        return _Cached(data=data, expires=self._clock() + ttl)

    def _request(self, method: str, url: str, *, authenticated: bool,
                 json: Any = None) -> httpx.Response:
        headers = {"X-Vault-Token": self._current_token()} if authenticated else {}
        try:
            return self._http.request(method, url, headers=headers, json=json)
        except httpx.TimeoutException as exc:
            raise VaultUnavailable(f"Vault at {self.settings.address} did not answer in "
                                   f"{self.settings.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise VaultUnavailable(f"Vault at {self.settings.address} cannot be reached: "
                                   f"{type(exc).__name__}") from exc

    def _current_token(self) -> str:
        if self._token is not None and (self.settings.role_id is None
                                        or self._clock() < self._token_expires):
            return self._token
        return self._login()

    def _login(self) -> str:
        settings = self.settings
        reply = self._request("POST", f"auth/{settings.approle_path}/login", authenticated=False,
                              json={"role_id": settings.role_id,
                                    "secret_id": settings.secret_id or ""})
        auth = _json(reply, "the AppRole login").get("auth")
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise VaultError("the AppRole login returned no client_token")
        assert isinstance(auth, dict)
        lease = auth.get("lease_duration")
        lifetime = float(lease) if isinstance(lease, int | float) and lease > 0 else float("inf")
        self._token = token
        self._token_expires = self._clock() + lifetime * (1 - RENEW_MARGIN)
        return token


def _json(reply: httpx.Response, what: str) -> dict[str, Any]:
    """The reply's JSON object, or the error Vault's status and ``errors`` list describe."""
    if reply.status_code >= 500 or reply.status_code == 429:
        raise VaultUnavailable(f"Vault answered {reply.status_code} to {what}{_errors(reply)}")
    if reply.status_code == 404:
        raise VaultError(f"Vault has nothing at {what.removeprefix('reading ')} (404)")
    if reply.status_code >= 400:
        raise VaultError(f"Vault refused {what}: {reply.status_code}{_errors(reply)}")
    try:
        body = reply.json()
    except ValueError as exc:
        raise VaultError(f"Vault's reply to {what} is not JSON") from exc
    if not isinstance(body, dict):
        raise VaultError(f"Vault's reply to {what} is not a JSON object")
    return body


def _errors(reply: httpx.Response) -> str:
    try:
        errors = reply.json().get("errors")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(errors, list) or not errors:
        return ""
    return " (" + "; ".join(str(e)[:200] for e in errors[:3]) + ")"


_clients: dict[VaultSettings, VaultClient] = {}
_clients_lock = threading.Lock()


def client_from_env() -> VaultClient:
    """The process's client for the current environment (one per distinct settings)."""
    settings = VaultSettings.from_env()
    with _clients_lock:
        client = _clients.get(settings)
        if client is None:
            client = _clients[settings] = VaultClient(settings)
        return client


def forget_clients() -> None:
    """Drop every cached client and value (tests; a changed environment)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()

