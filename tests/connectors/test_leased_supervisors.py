"""Two supervisors on one store (two processes on one SQLite file, or two hosts on one
PostgreSQL): only the lease holder polls; when it stops renewing, the other takes over
from the stored cursor, and no record is stored twice or skipped."""

from __future__ import annotations

import asyncio
import contextlib

from connectors.health import RunStatus
from connectors.leasing import LeaseKeeper, LeaseSettings
from connectors.supervisor import Supervisor
from storage import Store
from tests.connectors.runtime_fakes import FakeConnector, config, records, wait_until

SETTINGS = LeaseSettings(ttl_seconds=0.6, renew_seconds=0.2)


def _instance(url: str, data: list[bytes]) -> tuple[Store, LeaseKeeper, Supervisor,
                                                   FakeConnector]:
    store = Store.open(url)
    keeper = LeaseKeeper(store, SETTINGS)
    connector = FakeConnector("src", data, batch_size=5)
    return store, keeper, Supervisor(store, [(connector, config("src", interval_seconds=0.05))],
                                     leases=keeper, persist_health=False), connector


async def test_one_polls_and_the_other_takes_over_from_the_cursor(store_url: str) -> None:
    data = records("r", 3000)
    store_a, keeper_a, sup_a, conn_a = _instance(store_url, data)
    store_b, keeper_b, sup_b, conn_b = _instance(store_url, data)
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    renew_a = asyncio.create_task(keeper_a.run(stop_a))
    await sup_a.start()
    renew_b = asyncio.create_task(keeper_b.run(stop_b))
    await sup_b.start()
    try:
        await wait_until(lambda: sup_a.health.get("src").stored >= 50)
        assert conn_b.polls == 0
        # B learns it is on standby from its first claim, which may still be under way.
        await wait_until(lambda: sup_b.health.get("src").status is RunStatus.STANDBY, 5)
        assert conn_b.polls == 0
        # A dies without releasing anything (as after kill -9): no renewal, no commit.
        renew_a.cancel()
        await sup_a.stop()
        stored_by_a = sup_a.health.get("src").stored
        assert 0 < stored_by_a < 3000 and conn_b.polls == 0
        await wait_until(lambda: sup_b.health.get("src").stored > 0, 5)
        # The rest of the file, at whatever speed a loaded machine gives (CI: seconds).
        await wait_until(lambda: store_b.count_events("source").get("logs", 0) >= 3000, 120)
        # B resumed at A's committed cursor: it re-read nothing A had stored. (A's own
        # counter may miss its last batch: the commit finished, the bookkeeping did not.)
        assert sup_b.health.get("src").deduplicated == 0, "a batch was read twice"
        assert sup_b.health.get("src").stored <= 3000 - stored_by_a
        assert store_b.count_events("source") == {"logs": 3000}
    finally:
        stop_a.set()
        stop_b.set()
        await sup_b.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await renew_a
        await renew_b
        store_a.close()
        store_b.close()


async def test_start_drops_expired_rows_of_connectors_no_longer_configured(
        store_url: str) -> None:
    """A connector removed from the config leaves a lease row that every instance would
    report as held by nobody; the next supervisor start drops it once it has expired,
    and never a row another live instance holds."""
    from datetime import timedelta

    from storage.leases import Holder, claim, list_leases

    other = Holder("o" * 32, "bastion-b", 4242)
    store, keeper, supervisor, _ = _instance(store_url, records("r", 10))
    with store.write() as session:
        claim(session=session, names=["connector:removed"], holder=other,
              ttl=timedelta(milliseconds=50))
        claim(session=session, names=["connector:theirs"], holder=other,
              ttl=timedelta(minutes=5))
    await asyncio.sleep(0.1)
    await supervisor.start()
    try:
        with store.read() as session:
            names = [lease.name for lease in list_leases(session=session)[0]]
        assert names == ["connector:src", "connector:theirs"]
    finally:
        await supervisor.stop()
        store.close()
