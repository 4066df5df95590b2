"""Who runs what: the lease holder in the status merge, the TUI's health data and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connectors.status import collect_statuses
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


def test_a_connector_known_only_by_its_lease_is_the_default_tenants(store: Store) -> None:
    """Leases name no tenant: another tenant's status list does not show a connector it
    only knows from a lease, and does show the lease of a connector that is its own."""
    from storage import NewDeadLetter, tenants, visibility

    with store.write() as session:
        acme = tenants.create_tenant(session=session, name="acme").id
        claim(session=session, names=["connector:tail", "connector:acme-tail"],
              holder=BASTION, ttl=timedelta(minutes=1))
    with visibility.seeing(visibility.Visibility(tenant_id=acme)):
        store.ingest([], dead_letters_=[NewDeadLetter(
            connector="acme-tail", payload=b"x", error_class="E", message="m")])
        with store.read() as session:
            theirs = {s.name: s for s in collect_statuses(session=session)}
    with store.read() as session:
        mine = {s.name for s in collect_statuses(session=session)}
    assert set(theirs) == {"acme-tail"} and theirs["acme-tail"].lease is not None
    assert {"tail", "acme-tail"} <= mine
