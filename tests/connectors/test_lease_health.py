"""Who runs what: the lease holder in the status merge, the TUI's health data and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connectors.status import ConnectorStatus, collect_statuses
from storage import Store
from storage.leases import Holder, claim, release
from workbench.cli.main import main
from workbench.tui.health_data import connector_rows

BASTION = Holder("c" * 32, "bastion-a", 4242)


def test_holder_since_and_age_reach_every_reader(store_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    store = Store.open(store_url)
    try:
        with store.write() as session:
            claim(session=session, names=["connector:tail"], holder=BASTION,
                  ttl=timedelta(minutes=1))
        with store.read() as session:
            status = next(s for s in collect_statuses(session=session) if s.name == "tail")
        assert status.lease is not None and status.lease.held
        assert (status.lease.host, status.lease.pid) == ("bastion-a", 4242)
        assert status.lease.since is not None and 0 <= (status.lease.age_seconds or 0) < 30
        row = next(r for r in connector_rows(store) if r["name"] == "tail")
        assert row["held_by"] == "bastion-a:4242" and row["lease_age_s"] is not None
        assert main(["--db", store_url, "connectors", "--json"]) == 0
        listed = {r["connector"]: r for r in json.loads(capsys.readouterr().out)}
        assert listed["tail"]["held by"] == "bastion-a:4242"
        with store.write() as session:  # the holder stops: nobody polls it now
            release(session=session, names=["connector:tail"], holder=BASTION)
        assert next(r for r in connector_rows(store) if r["name"] == "tail")["held_by"] \
            == "NOBODY"
        assert main(["--db", store_url, "connectors"]) == 0
        assert "NOBODY" in capsys.readouterr().out
    finally:
        store.close()


def test_a_connectors_lease_is_shown_to_its_tenant_only(store: Store) -> None:
    """A lease names its connector's tenant: each tenant's status list shows its own
    connectors' leases -- those known only by their lease too (run by another instance,
    not polled yet) -- and never another tenant's name, host or pid. A lease claimed
    before leases named a tenant is the default tenant's; a connector moved to another
    tenant takes its lease along at the next claim."""
    from storage import NewDeadLetter, tenants, visibility

    def listed() -> tuple[dict[str, ConnectorStatus], dict[str, ConnectorStatus]]:
        with visibility.seeing(visibility.Visibility(tenant_id=acme)), \
                store.read() as session:
            theirs = {s.name: s for s in collect_statuses(session=session)}
        with store.read() as session:
            mine = {s.name: s for s in collect_statuses(session=session)}
        return mine, theirs

    with store.write() as session:
        acme = tenants.create_tenant(session=session, name="acme").id
        claim(session=session, names=["connector:tail", "connector:acme-tail",
                                      "connector:acme-quiet"],
              holder=BASTION, ttl=timedelta(minutes=1),
              tenants={"connector:acme-tail": acme, "connector:acme-quiet": acme})
    with visibility.seeing(visibility.Visibility(tenant_id=acme)):
        store.ingest([], dead_letters_=[NewDeadLetter(
            connector="acme-tail", payload=b"x", error_class="E", message="m")])
    mine, theirs = listed()
    assert set(theirs) == {"acme-tail", "acme-quiet"}, theirs
    assert all(s.lease is not None and s.lease.host == "bastion-a" for s in theirs.values())
    assert set(mine) == {"tail"} and mine["tail"].lease is not None, mine
    with store.write() as session:  # the config moves tail to acme
        claim(session=session, names=["connector:tail"], holder=BASTION,
              ttl=timedelta(minutes=1), tenants={"connector:tail": acme})
    mine, theirs = listed()
    assert mine == {} and set(theirs) == {"tail", "acme-tail", "acme-quiet"}
