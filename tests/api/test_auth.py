"""Authentication and authorisation: the role x endpoint matrix, revocation, secrecy.

The matrix is generated from the app's routes, so a new route is covered (and a
route without a declared role fails :func:`test_every_api_route_declares_one_role`).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Literal

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


def _api_routes(store: Store) -> list[tuple[str, str, Role | None]]:
    """``(method, path, role)`` of every ``/api`` operation (``None``: not one role)."""
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
        for method in route.methods or ():
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
            path.endswith("/discard")):
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
        assert needed is not None, (method, path)
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


# -- teams: [access] viewers_see = "own_team" ---------------------------------------------
HIDDEN = "zq7-hidden-marker"
"""In the title and summary of the investigation a payments viewer must never see."""
TEAMS = {"payments": ["payments-api", "ledger"], "search": ["search"]}


def _team_api(store: Store, viewers_see: Literal["all", "own_team"]) -> Api:
    from tests.api.conftest import start_api
    from workbench.settings.access import AccessSettings, TeamsSettings

    return start_api(store, access=AccessSettings(viewers_see=viewers_see),
                     teams=TeamsSettings(TEAMS))


def _team_data(api: Api) -> tuple[dict[str, httpx.Client], int, int, int]:
    """Clients per (role, team), and the ids of the payments and search investigations
    (created without a team: ``[teams]`` gives it) and of an event linked to the hidden one."""
    from tests.api.conftest import note

    admin = api.client("admin")
    clients = {}
    for name, role, team in (("pay-viewer", "viewer", "payments"),
                             ("pay-responder", "responder", "payments"),
                             ("search-viewer", "viewer", "search")):
        created = admin.post("/api/tokens", json={"name": name, "role": role, "team": team})
        assert created.status_code == 201 and created.json()["info"]["team"] == team
        clients[name] = httpx.Client(base_url=api.url, timeout=30, headers={
            "Authorization": f"Bearer {created.json()['token']}"})
        api.clients.append(clients[name])
    clients["viewer"] = api.client("viewer")            # a viewer token without a team
    clients["admin"] = admin
    assert admin.post("/api/events", json=[
        note("ledger lag", service="ledger", at="2026-01-01T00:10:00Z"),
        note("search 500s", service="search", at="2026-01-01T00:20:00Z")]).is_success
    by_service = {e["service"]: e["id"] for e in admin.get("/api/events").json()["items"]}
    times = {"impact_started_at": "2026-01-01T00:00:00Z", "detected_at": "2026-01-01T00:05:00Z"}
    mine = admin.post("/api/investigations", json={
        "title": "ledger lag", "services": ["checkout", "ledger"], **times}).json()
    hidden = admin.post("/api/investigations", json={
        "title": f"search down {HIDDEN}", "summary": HIDDEN, "services": ["search"],
        **times}).json()
    assert (mine["team"], hidden["team"]) == ("payments", "search")
    for inv, service in ((mine, "ledger"), (hidden, "search")):
        assert admin.post(f"/api/investigations/{inv['id']}/events/"
                          f"{by_service[service]}").status_code == 201
        assert admin.put(f"/api/investigations/{inv['id']}/status",
                         json={"status": "resolved"}).is_success
    return clients, mine["id"], hidden["id"], by_service["search"]


def _viewer_gets(store: Store, inv_id: int) -> list[tuple[str, dict[str, Any]]]:
    """Every viewer GET route, with ``inv_id`` in its path."""
    params = {"q": HIDDEN, "start": "2025-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
    out = []
    for method, path, role in _api_routes(store):
        if method == "GET" and role is Role.VIEWER:
            url = _concrete(path).replace("/investigations/1", f"/investigations/{inv_id}") \
                .replace("/status/open", "/status/resolved")
            out.append((url, {k: v for k, v in params.items() if k != "q" or "search" in url}))
    return out


def test_own_team_viewers_see_no_other_teams_investigation_on_any_route(store: Store) -> None:
    """The role x route matrix under ``own_team``: a viewer of payments meets the search
    investigation nowhere (404 exactly as a missing id, empty lists and timelines, not
    counted in analytics); responders and admins see both; a viewer without a team
    sees none. The same requests by a responder do show it, so the check can fail."""
    api = _team_api(store, "own_team")
    try:
        clients, mine, hidden, hidden_event = _team_data(api)
        seen = 0
        for url, params in _viewer_gets(store, hidden):
            answer = clients["pay-viewer"].get(url, params=params)
            assert HIDDEN not in answer.text, url
            body = answer.json()
            if isinstance(body, dict) and "counted_ids" in body:        # mttr, mttd
                assert hidden not in body["counted_ids"] and \
                    hidden not in sum(body["excluded"].values(), []), url
            if f"/investigations/{hidden}" in url:
                missing = clients["pay-viewer"].get(url.replace(str(hidden), "987654"))
                assert (answer.status_code, answer.json()["type"]) == \
                    (missing.status_code, missing.json()["type"]) == (404, _NOT_FOUND), url
                assert answer.json()["detail"].replace(str(hidden), "N") == \
                    missing.json()["detail"].replace("987654", "N")
            seen += HIDDEN in clients["pay-responder"].get(url, params=params).text
        assert seen >= 4                       # get, list, by status, search: all show it
        _assert_timelines(clients, mine, hidden, hidden_event)
        _assert_lists(clients, mine, hidden)
    finally:
        from tests.api.conftest import stop_api

        stop_api(api)


_NOT_FOUND = "urn:workbench:problem:not-found"


def _assert_timelines(clients: dict[str, httpx.Client], mine: int, hidden: int,
                      hidden_event: int) -> None:
    for name, sees_hidden in (("pay-viewer", False), ("pay-responder", True),
                              ("admin", True), ("search-viewer", True), ("viewer", False)):
        timeline = clients[name].get(f"/api/investigations/{hidden}/events")
        assert timeline.status_code == (200 if sees_hidden else 404), name
        if sees_hidden:
            assert [i["event"]["id"] for i in timeline.json()] == [hidden_event]
        # The event itself is not the team's: it stays readable to every viewer.
        assert clients[name].get(f"/api/events/{hidden_event}").status_code == 200
    assert clients["pay-viewer"].get(f"/api/investigations/{mine}/events").json()


def _assert_lists(clients: dict[str, httpx.Client], mine: int, hidden: int) -> None:
    expected = {"pay-viewer": {mine}, "search-viewer": {hidden}, "viewer": set(),
                "pay-responder": {mine, hidden}, "admin": {mine, hidden}}
    for name, ids in expected.items():
        listed = {i["id"] for i in clients[name].get("/api/investigations").json()["items"]}
        mttr = clients[name].get("/api/analytics/mttr", params={
            "start": "2025-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}).json()
        assert listed == ids and set(mttr["counted_ids"]) == ids, name
        assert clients[name].get(f"/api/investigations/{hidden}").status_code == \
            (200 if hidden in ids else 404), name


def test_viewers_see_every_team_by_default(store: Store) -> None:
    api = _team_api(store, "all")
    try:
        clients, mine, hidden, hidden_event = _team_data(api)
        for name in ("pay-viewer", "viewer", "search-viewer"):
            listed = {i["id"] for i in clients[name].get("/api/investigations").json()["items"]}
            assert listed == {mine, hidden}, name
            assert clients[name].get(f"/api/investigations/{hidden}/events").json()[0][
                "event"]["id"] == hidden_event
    finally:
        from tests.api.conftest import stop_api

        stop_api(api)
