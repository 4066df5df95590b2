"""A loopback server speaking Vault's KV v1/v2 read and AppRole login endpoints.

Replies are the documented sample responses (tests/field/vault, see SOURCE.md) with
the values a test plants; tokens, their leases and revocation are real state here, so
a client's caching and re-login are exercised over real HTTP.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parents[1] / "field" / "vault"
KV2 = json.loads((SAMPLES / "kv2_read.json").read_text())
KV1 = json.loads((SAMPLES / "kv1_read.json").read_text())
LOGIN = json.loads((SAMPLES / "approle_login.json").read_text())


@dataclass
class FakeVault:
    """State: KV v2 secrets under ``secret/``, KV v1 under ``kv/``, tokens with expiry."""

    kv2: dict[str, dict[str, Any]] = field(default_factory=dict)
    kv1: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    """token → expiry (monotonic seconds; inf for a static token)."""
    role: tuple[str, str] = ("role-1", "secret-1")
    token_ttl: int = 1200
    fail_with: int | None = None
    reads: list[tuple[str, str]] = field(default_factory=list)
    """(path, token) per read, in order."""
    logins: int = 0
    url: str = ""

    def issue(self, token: str, ttl: float = float("inf")) -> None:
        self.tokens[token] = time.monotonic() + ttl

    def revoke_all(self) -> None:
        self.tokens.clear()

    def answer(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> tuple[int, Any]:
        if self.fail_with is not None:
            return self.fail_with, {"errors": ["Vault is sealed"]}
        if method == "POST" and path == "/v1/auth/approle/login":
            return self._login(json.loads(body or b"{}"))
        token = headers.get("X-Vault-Token", "")
        if self.tokens.get(token, 0) <= time.monotonic():
            return 403, {"errors": ["permission denied"]}
        self.reads.append((path, token))
        if path.startswith("/v1/secret/data/"):
            fields = self.kv2.get(path.removeprefix("/v1/secret/data/"))
            if fields is None:
                return 404, {"errors": []}
            reply = copy.deepcopy(KV2)
            reply["data"]["data"] = fields
            return 200, reply
        if path.startswith("/v1/kv/"):
            found = self.kv1.get(path.removeprefix("/v1/kv/"))
            if found is None:
                return 404, {"errors": []}
            reply = copy.deepcopy(KV1)
            reply["data"], reply["lease_duration"] = found
            return 200, reply
        return 404, {"errors": []}

    def _login(self, payload: dict[str, Any]) -> tuple[int, Any]:
        if (payload.get("role_id"), payload.get("secret_id")) != self.role:
            return 400, {"errors": ["invalid role or secret ID"]}
        self.logins += 1
        token = f"approle-token-{self.logins}"
        self.issue(token, self.token_ttl)
        reply = copy.deepcopy(LOGIN)
        reply["auth"]["client_token"] = token
        reply["auth"]["lease_duration"] = self.token_ttl
        return 200, reply


@contextmanager
def serve(vault: FakeVault) -> Iterator[FakeVault]:
    """Run ``vault`` on a loopback port for the block (``vault.url`` is its address)."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            status, reply = vault.answer(self.command, self.path, dict(self.headers), body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle  # noqa: N815 (http.server's naming)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    vault.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield vault
    finally:
        server.shutdown()
        server.server_close()
