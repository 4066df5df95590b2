"""Tenants over the API: the tenant x route x role matrix, generated from the routers.

Two tenants in one store: ``default`` (the install's own) and ``acme``, each in turn
the owner of the objects and the intruder. Every owner object carries
:data:`MARKER`; the intruder's tokens (viewer, responder, admin) must meet it on no GET
route, and every id of an owner object must answer exactly what a missing id answers
(404, same type and detail), on reads and on writes; writes with those ids change
nothing. The owner's admin, asking the same GETs, does see the marker, so the check
can fail.

The owner's connectors are there too: one known only by its lease (run by another
instance, not polled yet) and one by its persisted health, both named with the
marker. The dead-letter queue is not empty while this runs: each tenant has an entry
under the same receiver name (``otlp``), filed by the OTLP receiver itself from a
body that is not an export, the owner's with the marker in its payload. A dead letter
replayed through the live control facade is stored in its own tenant only
(:func:`test_a_dead_letter_replays_into_its_own_tenant_only`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from storage import Store, audit, tenants, visibility
from storage.connector_health import save_health
from storage.leases import Holder, claim
from tests.api.conftest import Api, note, start_api, stop_api
from tests.api.test_auth import _api_routes, _concrete

MARKER = "zq7-tenant-marker"
MISSING = 987654
RECEIVER = "otlp"
"""The connector name of both tenants' dead letters (a receiver's: the same in each)."""
_NOT_FOUND = "urn:workbench:problem:not-found"
ROLES = ("viewer", "responder", "admin")
PARAMS = {"q": MARKER, "start": "2025-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
BODIES: dict[str, Any] = {
    "/api/investigations/{investigation_id}": {"title": "taken over"},
    "/api/investigations/{investigation_id}/status": {"status": "investigating"},
    "/api/investigations/{investigation_id}/suspects/{event_id}/verdict": {"verdict": "ruled_out"},
    "/api/events/{event_id}/tags": {"tags": ["taken"]},
}


def _acme_clients(api: Api) -> dict[str, httpx.Client]:
    with api.store.write() as session:
        tenants.create_tenant(session=session, name="acme")
    admin = api.client("admin")
    clients = {}
    for role in ROLES:
        made = admin.post("/api/tokens", json={"name": f"acme-{role}", "role": role,
                                               "tenant": "acme"})
        assert made.status_code == 201, made.text
        clients[role] = httpx.Client(base_url=api.url, timeout=30, headers={
            "Authorization": f"Bearer {made.json()['token']}"})
        api.clients.append(clients[role])
    return clients


def _owned_data(admin: httpx.Client) -> dict[str, int]:
    """The owner's objects with the marker; their ids by path parameter."""
    alert = note(f"disk full {MARKER}", service="db", at="2026-01-01T00:10:00Z",
                 dedup_key="alert-1")
    assert admin.post("/api/events", json=[alert]).is_success
    event = admin.get("/api/events").json()["items"][0]
    inv = admin.post("/api/investigations", json={
        "title": f"db down {MARKER}", "summary": MARKER, "services": ["db"],
        "impact_started_at": "2026-01-01T00:00:00Z",
        "detected_at": "2026-01-01T00:05:00Z"}).json()
    assert admin.post(f"/api/investigations/{inv['id']}/events/{event['id']}").status_code == 201
    assert admin.put(f"/api/investigations/{inv['id']}/status",
                     json={"status": "resolved"}).is_success
    window = admin.post("/api/maintenance", json={
        "name": f"window {MARKER}", "service": "db", "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "2026-01-01T01:00:00Z", "reason": MARKER})
    assert window.status_code == 201, window.text
    return {"investigation_id": inv["id"], "event_id": event["id"],
            "window_id": window.json()["id"]}


def _owned_connectors(store: Store, owner: int) -> None:
    """The owner's connectors, named with the marker: one known only by the lease
    another instance claimed for it, one by the health snapshot it persisted."""
    holder = Holder("d" * 32, f"host-{MARKER}", 4242)
    with visibility.seeing(visibility.Visibility(tenant_id=owner)), \
            store.write() as session:
        claim(session=session, names=[f"connector:lease-{MARKER}"], holder=holder,
              ttl=timedelta(minutes=5), tenants={f"connector:lease-{MARKER}": owner})
        save_health(session=session, connector=f"saved-{MARKER}",
                    snapshot={"name": f"saved-{MARKER}", "status": "running"})


def _dead_letters(api: Api, admin: httpx.Client, acme: dict[str, httpx.Client]
                  ) -> tuple[int, int]:
    """One dead letter per tenant, filed by the OTLP receiver from a body that does not
    decode (each sender's token picks its tenant): ``admin``'s (the owner's) holds
    MARKER, ``acme``'s (the intruder's) does not. Returns the ids (owner's, intruder's)."""
    def post(client: httpx.Client, body: bytes) -> httpx.Response:
        return httpx.post(f"{api.url}/v1/traces", content=body, headers={
            "Content-Type": "application/json",
            "Authorization": client.headers["Authorization"]})

    assert post(admin, b'{"resourceSpans": "' + MARKER.encode()).status_code == 400
    assert post(acme["responder"], b'{"resourceSpans": "other').status_code == 400
    [mine] = admin.get(f"/api/connectors/{RECEIVER}/dlq").json()["items"]
    [theirs] = acme["viewer"].get(f"/api/connectors/{RECEIVER}/dlq").json()["items"]
    assert MARKER in mine["payload_preview"] and MARKER not in theirs["payload_preview"]
    assert mine["id"] != theirs["id"]
    return mine["id"], theirs["id"]


EXTRA: dict[str, int | str] = {"name": RECEIVER, "pattern_id": 1}
"""Path parameters that are not ids of a default-tenant object."""


def _url(path: str, ids: dict[str, int | str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    return _concrete(path).replace("/status/open", "/status/resolved")


def _snapshot(admin: httpx.Client, ids: dict[str, int]) -> list[Any]:
    inv = ids["investigation_id"]
    return [admin.get(f"/api/investigations/{inv}").json(),
            admin.get(f"/api/investigations/{inv}/events").json(),
            admin.get(f"/api/events/{ids['event_id']}").json(),
            admin.get("/api/maintenance").json(),
            admin.get(f"/api/connectors/{RECEIVER}/dlq/{ids['letter_id']}").json(),
            admin.get(f"/api/connectors/{RECEIVER}/dlq").json(),
            sorted(t["name"] for t in admin.get("/api/tokens").json() if not t["revoked_at"])]


@pytest.mark.parametrize("owner", ["default", "acme"])
def test_no_tenant_reads_or_writes_another_tenants_rows_on_any_route(
        store: Store, owner: str) -> None:
    api = start_api(store)
    try:
        default = {role: api.client(role) for role in ROLES}
        acme = _acme_clients(api)
        owners, intruders = (default, acme) if owner == "default" else (acme, default)
        with store.read() as session:
            ids_of = {name: tenants.tenant_id_by_name(session=session, name=name)
                      for name in ("default", "acme")}
        intruder = ids_of["acme" if owner == "default" else "default"]
        admin = owners["admin"]
        ids = _owned_data(admin)
        _owned_connectors(store, ids_of[owner])
        ids["letter_id"], intruder_letter = _dead_letters(api, admin, intruders)
        # The intruder's own copy of the same alert: stored (per-tenant dedup), its own event.
        same = note("disk full", service="db", at="2026-01-01T00:10:00Z", dedup_key="alert-1")
        assert intruders["responder"].post("/api/events", json=[same]).json()["stored"] == 1
        intruder_event = intruders["viewer"].get("/api/events").json()["items"]
        assert len(intruder_event) == 1 and intruder_event[0]["id"] != ids["event_id"]
        before = _snapshot(admin, ids)
        reads, seen = _check_reads(api, intruders, admin, ids, intruder_event[0]["id"])
        assert reads >= 20 and seen >= 6, (reads, seen)
        writes = _check_writes(api, intruders, ids, owner)
        assert writes >= 8, writes
        assert _snapshot(admin, ids) == before
        _check_own_dead_letter(intruders, admin, ids["letter_id"], intruder_letter)
        _check_audit_chains(store, intruder)
    finally:
        stop_api(api)


def _check_reads(api: Api, acme: dict[str, httpx.Client], admin: httpx.Client,
                 ids: dict[str, int], acme_event: int) -> tuple[int, int]:
    """Every GET route, as each intruder role (``acme``) that may call it; ``admin`` is
    the owner's, ``acme_event`` the intruder's own event."""
    rank = {"viewer": 0, "responder": 1, "admin": 2}
    reads = seen = 0
    for method, path, needed in _api_routes(api.store):
        if method != "GET":
            continue
        url = _url(path, {**ids, **EXTRA})
        params = {k: v for k, v in PARAMS.items() if k != "q" or "search" in url}
        assert needed is not None, (method, path)  # every GET route needs one role
        for role, client in acme.items():
            if rank[role] < needed.rank:
                continue
            answer = client.get(url, params=params)
            reads += 1
            assert MARKER not in answer.text, (role, url, answer.text[:300])
            if any("{" + name + "}" in path for name in ids):
                missing = client.get(_url(path, {**dict.fromkeys(ids, MISSING), **EXTRA}))
                _same_as_missing(url, ids, answer, missing)
        seen += MARKER in admin.get(url, params=params).text
    # The intruder's own event is readable to it, and to nobody else.
    assert acme["viewer"].get(f"/api/events/{acme_event}").status_code == 200
    assert admin.get(f"/api/events/{acme_event}").status_code == 404
    return reads, seen


def _same_as_missing(url: str, ids: dict[str, int], answer: httpx.Response,
                     missing: httpx.Response) -> None:
    """``answer`` (about a default-tenant id) is what ``missing`` (about no object) is:
    404, the same problem type, the same detail but for the id."""
    assert answer.status_code == missing.status_code == 404, (url, answer.text)
    assert (answer.status_code, answer.json().get("type")) == \
        (missing.status_code, missing.json().get("type")) == (404, _NOT_FOUND), url
    strip = answer.json()["detail"]
    for value in ids.values():
        strip = strip.replace(str(value), "N")
    assert strip == missing.json()["detail"].replace(str(MISSING), "N"), url


def _check_own_dead_letter(acme: dict[str, httpx.Client], admin: httpx.Client,
                           default_letter: int, acme_letter: int) -> None:
    """acme works on its own entry (which the default tenant cannot reach, alike a missing
    one); the default tenant's stays pending."""
    route = f"/api/connectors/{RECEIVER}/dlq"
    missing = admin.get(f"{route}/{MISSING}")
    _same_as_missing("default reads acme's", {"letter_id": acme_letter},
                     admin.get(f"{route}/{acme_letter}"), missing)
    _same_as_missing("default discards acme's", {"letter_id": acme_letter},
                     admin.post(f"{route}/{acme_letter}/discard"),
                     admin.post(f"{route}/{MISSING}/discard"))
    assert acme["viewer"].get(f"{route}/{acme_letter}").json()["status"] == "pending"
    assert acme["admin"].post(f"{route}/{acme_letter}/discard").status_code == 200
    assert acme["viewer"].get(route).json()["items"] == []
    assert [x["id"] for x in admin.get(route).json()["items"]] == [default_letter]


def _check_writes(api: Api, acme: dict[str, httpx.Client], ids: dict[str, int],
                  owner: str) -> int:
    """Every write route naming an owner object, as the intruder's admin (``acme``):
    refused like a missing id (nothing changes: the caller compares snapshots)."""
    writes = 0
    for method, path, _ in _api_routes(api.store):
        if method == "GET" or not any("{" + name + "}" in path for name in ids):
            continue
        url = _url(path, {**ids, **EXTRA})
        body = BODIES.get(path)
        answer = acme["admin"].request(method, url, json=body)
        missing = acme["admin"].request(method, _url(path, {
            **dict.fromkeys(ids, MISSING), **EXTRA}), json=body)
        _same_as_missing(f"{method} {url}", ids, answer, missing)
        writes += 1
    # An owner's token name: the intruder's admin cannot revoke it (no such token there).
    token = "test-viewer" if owner == "default" else "acme-viewer"
    assert acme["admin"].delete(f"/api/tokens/{token}").status_code == 404
    if owner == "default":
        # Nor may another tenant's admin create a token in the default tenant. (The
        # default tenant's admins make the other tenants' tokens: that is their job.)
        assert acme["admin"].post("/api/tokens", json={
            "name": "sneak", "role": "admin", "tenant": "default"}).status_code == 404
    return writes + 1 + (owner == "default")


def _check_audit_chains(store: Store, intruder: int) -> None:
    """Each tenant's chain verifies on its own; the intruder's holds none of the owner's
    changes."""
    with store.read() as session:
        chains = []
        for tenant in tenants.tenant_ids(session=session):
            with visibility.seeing(visibility.Visibility(tenant_id=tenant)):
                chains.append(audit.verify(session=session))
        with visibility.seeing(visibility.Visibility(tenant_id=intruder)):
            actions = {e.action for e in audit.list_entries(session=session)}
    assert len(chains) == 2 and all(c.ok and c.rows > 0 for c in chains), chains
    assert "investigation.create" not in actions, actions


def test_a_dead_letter_replays_into_its_own_tenant_only(store: Store) -> None:
    """A poison record in each tenant's connector (the real supervisor's batch path), then a
    fixed parser: acme's responder replays acme's entry into acme; the default tenant's
    entry is out of acme's reach (replay and discard answer as for a missing id, and it
    stays pending) until the default tenant's responder replays it into the default
    tenant. The same record is one event in each tenant, never both in one."""
    import asyncio

    from connectors.control import Control
    from connectors.supervisor import Supervisor
    from tests.connectors.runtime_fakes import FakeConnector, config

    mine, theirs = FakeConnector("app", [b"!rec-1"]), FakeConnector("acme-app", [b"!rec-1"])
    supervisor = Supervisor(store, [(mine, config("app")),
                                    (theirs, config("acme-app", tenant="acme"))],
                            persist_health=False)
    api = start_api(store, control=Control(supervisor), health=supervisor.health)
    try:
        admin, acme = api.client("admin"), _acme_clients(api)
        asyncio.run(supervisor.sync())
        # The live health table too: each tenant sees its own connector only.
        names = {who: {s["name"] for s in client.get("/api/connectors/status").json()}
                 for who, client in (("default", admin), ("acme", acme["viewer"]))}
        assert "app" in names["default"] and "acme-app" not in names["default"], names
        assert "acme-app" in names["acme"] and "app" not in names["acme"], names
        mine.fixed = theirs.fixed = True  # "a new parser deployed": the records parse now
        [letter] = admin.get("/api/connectors/app/dlq").json()["items"]
        [acme_letter] = acme["viewer"].get("/api/connectors/acme-app/dlq").json()["items"]
        assert acme["viewer"].get("/api/connectors/app/dlq").json()["items"] == []
        assert admin.get("/api/connectors/acme-app/dlq").json()["items"] == []
        ids = {"letter_id": letter["id"]}
        for client, method, tail in ((acme["responder"], "POST", "/retry"),
                                     (acme["admin"], "POST", "/discard")):
            answer = client.request(method, f"/api/connectors/app/dlq/{letter['id']}{tail}")
            missing = client.request(method, f"/api/connectors/app/dlq/{MISSING}{tail}")
            _same_as_missing(f"{method} {tail}", ids, answer, missing)
        assert admin.get(f"/api/connectors/app/dlq/{letter['id']}").json() == letter
        replayed = acme["responder"].post(
            f"/api/connectors/acme-app/dlq/{acme_letter['id']}/retry")
        assert replayed.status_code == 200 and replayed.json()["status"] == "replayed", \
            replayed.text
        [acme_event] = acme["viewer"].get("/api/events").json()["items"]
        assert acme_event["title"] == "record rec-1"
        assert admin.get("/api/events").json()["items"] == []
        assert admin.get(f"/api/events/{acme_event['id']}").status_code == 404
        again = api.client("responder").post(f"/api/connectors/app/dlq/{letter['id']}/retry")
        assert again.status_code == 200 and again.json()["status"] == "replayed", again.text
        [event] = admin.get("/api/events").json()["items"]
        assert event["title"] == "record rec-1" and event["id"] != acme_event["id"]
        assert [e["id"] for e in acme["viewer"].get("/api/events").json()["items"]] == \
            [acme_event["id"]]
    finally:
        stop_api(api)
