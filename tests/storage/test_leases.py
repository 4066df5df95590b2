"""Job leases on both engines: one holder at a time, expiry, fencing, release."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from storage import Store
from storage.leases import (
    Holder,
    LeaseLostError,
    claim,
    drop_stale,
    fence,
    list_leases,
    release,
)

TTL = timedelta(seconds=30)
A = Holder("a" * 32, "host-a", 101)
B = Holder("b" * 32, "host-b", 202)


def _claim(store: Store, holder: Holder, names: list[str], ttl: timedelta = TTL
           ) -> dict[str, int]:
    with store.write() as session:
        return {n: g.epoch for n, g in claim(session=session, names=names, holder=holder,
                                             ttl=ttl).items()}


def test_one_holder_at_a_time_and_renewal_keeps_the_epoch(store: Store) -> None:
    assert _claim(store, A, ["connector:x", "grouping"]) == {"connector:x": 1, "grouping": 1}
    assert _claim(store, B, ["connector:x", "grouping", "connector:y"]) == {"connector:y": 1}
    assert _claim(store, A, ["connector:x", "grouping"]) == {"connector:x": 1, "grouping": 1}
    with store.read() as session:
        leases, now = list_leases(session=session)
    by_name = {lease.name: lease for lease in leases}
    assert by_name["connector:x"].host == "host-a" and by_name["connector:x"].pid == 101
    assert by_name["connector:y"].holder == B.id and all(lease.live(now) for lease in leases)


def test_an_expired_lease_goes_to_the_next_claimant_with_a_new_epoch(store: Store) -> None:
    _claim(store, A, ["job"], ttl=timedelta(milliseconds=200))
    assert _claim(store, B, ["job"]) == {}
    time.sleep(0.3)
    assert _claim(store, B, ["job"]) == {"job": 2}
    assert _claim(store, A, ["job"]) == {}


def test_fence_refuses_a_commit_after_takeover_and_rolls_it_back(store: Store) -> None:
    with store.write() as session:
        grant = claim(session=session, names=["job"], holder=A,
                      ttl=timedelta(milliseconds=200))["job"]
    with store.write() as session:
        fence(session=session, grant=grant)  # still ours: renews
    time.sleep(0.3)
    _claim(store, B, ["job"])
    with pytest.raises(LeaseLostError), store.write() as session:
        fence(session=session, grant=grant)


def test_release_hands_over_at_once_and_only_our_own(store: Store) -> None:
    _claim(store, A, ["one", "two"])
    _claim(store, B, ["three"])
    with store.write() as session:
        release(session=session, names=["one", "two", "three"], holder=A)
    assert _claim(store, B, ["one", "two", "three"]) == {"one": 2, "two": 2, "three": 1}


@pytest.mark.postgres
def test_a_claim_skips_a_row_its_holder_is_committing_under(store: Store) -> None:
    """SKIP LOCKED: a claimant never waits on (or deadlocks with) a holder's commit."""
    if store.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    with store.write() as session:
        grant = claim(session=session, names=["job"], holder=A, ttl=TTL)["job"]
    committing, done = threading.Event(), threading.Event()

    def holder_commit() -> None:
        with store.write() as session:
            fence(session=session, grant=grant)
            committing.set()
            done.wait(10)

    thread = threading.Thread(target=holder_commit)
    thread.start()
    assert committing.wait(10)
    started = time.monotonic()
    assert _claim(store, B, ["job"]) == {}  # skipped, not waited for
    assert time.monotonic() - started < 2
    done.set()
    thread.join()


def test_a_dead_process_on_this_host_frees_its_leases_at_once(store: Store) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    crashed = Holder("e" * 32, "bastion-a", int(gone.stdout))
    _claim(store, crashed, ["job"])
    elsewhere = Holder("f" * 32, "bastion-b", 303)  # another host cannot tell: waits
    assert _claim(store, elsewhere, ["job"]) == {}
    restarted = Holder.this_process("bastion-a")
    assert _claim(store, restarted, ["job"]) == {"job": 2}
    alive = Holder("9" * 32, "bastion-a", restarted.pid)  # same host, process alive
    assert _claim(store, alive, ["job"]) == {}


def test_drop_stale_takes_only_expired_rows_of_unconfigured_connectors(store: Store) -> None:
    short = timedelta(milliseconds=100)
    _claim(store, A, ["connector:removed", "connector:kept", "grouping"], ttl=short)
    _claim(store, B, ["connector:elsewhere"])  # live: another instance's config has it
    time.sleep(0.2)
    with store.write() as session:
        dropped = drop_stale(session=session, prefix="connector:", keep=["connector:kept"])
    assert dropped == ["connector:removed"]
    with store.read() as session:
        names = [lease.name for lease in list_leases(session=session)[0]]
    assert names == ["connector:elsewhere", "connector:kept", "grouping"]
