"""Authentication and authorisation: the role x endpoint matrix, revocation, secrecy.

The matrix is generated from the app's routes, so a new route is covered (and a
route without a declared role fails :func:`test_every_api_route_declares_one_role`).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from storage import Store
from tests.api.conftest import Api
from tests.api.test_investigations import _problem
from workbench.api.app import ROUTERS, _optional_routers, create_app
from workbench.api.auth import Role
from workbench.api.deps import ROLE_DEPENDENCIES

TOKEN_PATTERN = re.compile(r"iwb_[A-Za-z0-9_-]{43}_[0-9a-f]{8}")


def _api_routes(store: Store) -> list[tuple[str, str, Role]]:
    """``(method, path, role)`` of every ``/api`` operation."""
    create_app(store=store)
    found = []
    for route in [r for router in (*ROUTERS, *_optional_routers()) for r in router.routes]:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api"):
            continue
        if "receivers" in route.tags:
            continue  # webhooks authenticate each sender their own way (brief B)
        if not route.include_in_schema:
            continue  # a 405 guard (workbench.api.methods) serves no operation
        roles = [ROLE_DEPENDENCIES[d.call] for d in route.dependant.dependencies
                 if d.call in ROLE_DEPENDENCIES]
        for method in route.methods:
            found.append((method, route.path, roles[0] if len(roles) == 1 else None))
    return sorted(found, key=lambda r: (r[1], r[0]))


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: {"status": "open", "source": "git",
                                          "severity": "high"}.get(m.group(1), "1"), path)


def test_every_api_route_declares_one_role(sqlite_store: Store) -> None:
    routes = _api_routes(sqlite_store)
    assert len(routes) >= 35
    assert [r for r in routes if r[2] is None] == []


def _expected_role(method: str, path: str) -> Role:
    if path.startswith(("/api/tokens", "/api/audit")) or path.endswith(("/pause", "/resume")) or (
            method == "DELETE" and "/dlq/" in path):
        return Role.ADMIN
    return Role.VIEWER if method == "GET" else Role.RESPONDER


def test_role_policy_is_the_documented_one(sqlite_store: Store) -> None:
    """Viewers read; responders write; admins manage connectors and tokens."""
    for method, path, role in _api_routes(sqlite_store):
        assert role == _expected_role(method, path), (method, path)


def test_matrix_refuses_lower_roles_and_missing_tokens(api: Api) -> None:
    rank = {"viewer": 0, "responder": 1, "admin": 2}
    clients = {role: api.client(role) for role in rank}
    anonymous = api.client(None)
    checked = 0
    for method, path, needed in _api_routes(api.store):
        url = _concrete(path)
        _problem(anonymous.request(method, url), 401, "unauthorized")
        for role, client in clients.items():
            response = client.request(method, url)
            if rank[role] < needed.rank:
                _problem(response, 403, "forbidden")
                checked += 1
            else:
                assert response.status_code not in (401, 403), (method, url, role)
    assert checked >= 20  # every write x viewer, every admin route x responder


def test_malformed_unknown_revoked_and_query_tokens(api: Api) -> None:
    def get(headers: dict[str, str], params: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.get(api.url + "/api/events", headers=headers, params=params)

    token = api.tokens["viewer"]
    assert get({"Authorization": f"Bearer {token}"}).status_code == 200
    for headers in ({"Authorization": f"Basic {token}"}, {"Authorization": "Bearer"},
                    {"Authorization": f"Bearer {token}x"},
                    {"Authorization": "Bearer " + "a" * 5000}):
        response = get(headers)
        _problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
    _problem(get({}, {"access_token": token, "token": token}), 401, "unauthorized")
    admin = api.client("admin")
    assert admin.delete("/api/tokens/test-viewer").status_code == 204
    _problem(get({"Authorization": f"Bearer {token}"}), 401, "unauthorized")  # next request


def test_token_routes(api: Api) -> None:
    admin = api.client("admin")
    created = admin.post("/api/tokens", json={"name": "bot", "role": "responder"})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert TOKEN_PATTERN.fullmatch(secret)
    bot = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {secret}"})
    assert bot.post("/api/investigations", json={"title": "from bot"}).status_code == 201
    _problem(bot.get("/api/tokens"), 403, "forbidden")
    bot.close()
    deadline = time.monotonic() + 30
    while not _last_used(admin, "bot"):  # recorded in the background, off the request path
        assert time.monotonic() < deadline, "last_used_at never recorded"
        time.sleep(0.02)
    listed = admin.get("/api/tokens").json()
    assert {t["name"] for t in listed} >= {"bot", "test-admin"}
    assert "token" not in str(listed).replace("token_", "") or secret not in str(listed)
    assert secret not in admin.get("/api/tokens").text
    _problem(admin.post("/api/tokens", json={"name": "bot", "role": "viewer"}), 409, "conflict")
    _problem(admin.post("/api/tokens", json={"name": "x", "role": "root"}), 422, "validation")
    _problem(admin.delete("/api/tokens/ghost"), 404, "not-found")


def _last_used(admin: httpx.Client, name: str) -> str | None:
    found: str | None = next(t["last_used_at"] for t in admin.get("/api/tokens").json()
                             if t["name"] == name)
    return found


def test_tokens_never_logged_or_stored_in_clear(api: Api, caplog: pytest.LogCaptureFixture
                                                ) -> None:
    caplog.set_level(logging.DEBUG)
    admin = api.client("admin")
    secret = admin.post("/api/tokens", json={"name": "n", "role": "viewer"}).json()["token"]
    httpx.get(api.url + "/api/events", headers={"Authorization": f"Bearer {secret}"})
    httpx.get(api.url + "/api/events", headers={"Authorization": f"Bearer {secret}zz"})
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert not TOKEN_PATTERN.search(logged)
    every = [secret, *api.tokens.values()]
    with api.store.read() as session:
        for table in ("api_token", "audit_log"):
            dump = str(session.execute(text(f"SELECT * FROM {table}")).all())
            assert not any(t in dump for t in every), table
