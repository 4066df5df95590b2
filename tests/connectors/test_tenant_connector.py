"""A connector with ``tenant = "acme"`` stores in acme, on a real file through the
real supervisor: events, dead letters, its cursor and its persisted health; the
default tenant sees none of it. The same file read by a default-tenant connector is
stored again there (dedup keys are per tenant)."""

from __future__ import annotations

from pathlib import Path

import orjson

from connectors import registry
from connectors.base import ConnectorConfig
from connectors.supervisor import Supervisor
from storage import Store, tenants, visibility
from storage.connector_health import load_health
from storage.queries import EventQuery


def _log(path: Path) -> None:
    lines = [orjson.dumps({"ts": f"2026-11-28T10:00:0{i}Z", "level": "error",
                           "msg": f"acme line {i}"}) for i in range(5)]
    lines.insert(2, b'{"ts": "2026-11-28T10:00:00Z", "msg": "cut')
    path.write_bytes(b"\n".join(lines) + b"\n")


def _config(name: str, path: Path, tenant: str | None) -> ConnectorConfig:
    raw = {"name": name, "kind": "logs", "paths": [str(path)], "rotate_wait_seconds": 0,
           "multiline_flush_seconds": 0, **({"tenant": tenant} if tenant else {})}
    return registry.validate(raw)


def _seen(store: Store, tenant: int, connector: str) -> tuple[list[str], int, bool, bool]:
    """Event titles, dead letters, whether a cursor and a health row exist, in ``tenant``."""
    with visibility.seeing(visibility.Visibility(tenant_id=tenant)):
        titles = [e.title for e in store.list_events(EventQuery(order="asc", limit=50)).items]
        letters = len(store.list_dead_letters(connector=connector).items)
        cursor = store.get_cursor(connector) is not None
        with store.read() as session:
            health = connector in load_health(session=session)
    return titles, letters, cursor, health


async def test_a_connector_with_a_tenant_stores_everything_in_that_tenant(
        store: Store, tmp_path: Path) -> None:
    with store.write() as session:
        acme = tenants.create_tenant(session=session, name="acme").id
    log = tmp_path / "app.log"
    _log(log)
    config = _config("acme-app", log, "acme")
    await Supervisor(store, [(registry.build(config), config)]).sync()
    titles, letters, cursor, health = _seen(store, acme, "acme-app")
    assert titles == [f"acme line {i}" for i in range(5)] and letters == 1, (titles, letters)
    assert cursor and health
    assert _seen(store, visibility.DEFAULT_TENANT, "acme-app") == ([], 0, False, False)
    # The default tenant's own connector over the same file: its own copy of each line.
    mine = _config("app", log, None)
    await Supervisor(store, [(registry.build(mine), mine)], persist_health=False).sync()
    assert _seen(store, visibility.DEFAULT_TENANT, "app")[:2] == (titles, 1)
    assert _seen(store, acme, "acme-app")[0] == titles


async def test_a_connectors_lease_names_its_tenant(store: Store, tmp_path: Path) -> None:
    """The real supervisor under a lease keeper: a connector's lease row names its
    tenant, so each tenant's status list shows the lease of its own connectors only;
    a connector naming a tenant the store lacks is not claimed at all."""
    import asyncio

    from connectors.leasing import LeaseKeeper
    from connectors.status import collect_statuses
    from storage.leases import list_leases

    with store.write() as session:
        acme = tenants.create_tenant(session=session, name="acme").id
    log = tmp_path / "app.log"
    _log(log)
    configs = [_config("acme-app", log, "acme"), _config("app", log, None),
               _config("ghost-app", log, "ghost")]
    keeper = LeaseKeeper(store)
    supervisor = Supervisor(store, [(registry.build(c), c) for c in configs], leases=keeper,
                            persist_health=False)
    await supervisor.start()
    try:
        with store.read() as session:
            rows = {lease.name: lease.tenant_id for lease in list_leases(session=session)[0]}
        assert rows == {"connector:acme-app": acme, "connector:app": None}, rows
        with visibility.seeing(visibility.Visibility(tenant_id=acme)), \
                store.read() as session:
            theirs = {s.name: s.lease for s in collect_statuses(session=session)}
        with store.read() as session:
            mine = {s.name: s.lease for s in collect_statuses(session=session)}
        assert set(theirs) == {"acme-app"} and theirs["acme-app"] is not None, theirs
        assert "acme-app" not in mine and mine["app"] is not None, mine
    finally:
        await supervisor.stop()
        await asyncio.to_thread(keeper.release_all)
