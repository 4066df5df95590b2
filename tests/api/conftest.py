"""A real uvicorn server on a loopback port per test, over each store engine.

``api`` is parametrised through ``store_url`` (SQLite file, and PostgreSQL when
``WORKBENCH_TEST_PG_URL`` is set). It comes with one token per role.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from storage import Store
from storage.tokens import create_token
from workbench.api.app import create_app
from workbench.api.server import ApiServer
from workbench.settings.api import ApiSettings

ROLES = ("viewer", "responder", "admin")


@dataclass
class Api:
    """A running API: its URL, its store and a token per role."""

    url: str
    store: Store
    server: ApiServer
    tokens: dict[str, str]
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, role: str | None = "admin", **kwargs: Any) -> httpx.Client:
        """An HTTP client sending ``role``'s token (``None``: no Authorization header)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)
        self.clients.append(client)
        return client


def start_api(store: Store, settings: ApiSettings | None = None, **app_kwargs: Any) -> Api:
    """Create one token per role, build the app and serve it on a free port."""
    settings = settings or ApiSettings(port=0)
    tokens = {}
    with store.write() as session:
        for role in ROLES:
            _, tokens[role] = create_token(session=session, name=f"test-{role}", role=role)
    app = create_app(store=store, settings=settings, **app_kwargs)
    server = ApiServer(app, settings, port=0, host="127.0.0.1").start()
    return Api(url=server.url, store=store, server=server, tokens=tokens)


def stop_api(api: Api) -> None:
    """Close clients and stop the server."""
    for client in api.clients:
        client.close()
    api.server.stop()


@pytest.fixture
def api_settings() -> ApiSettings:
    """Settings for the ``api`` fixture; override in a test module to change them."""
    return ApiSettings(port=0)


@pytest.fixture
def api(store: Store, api_settings: ApiSettings) -> Iterator[Api]:
    """A served API over an empty store, on each engine."""
    running = start_api(store, api_settings)
    yield running
    stop_api(running)


def note(title: str, at: str = "2026-01-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
    """A minimal manual note as JSON."""
    return {"source": "manual", "kind": "note", "title": title, "occurred_at": at, **extra}
