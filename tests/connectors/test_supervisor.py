"""The supervisor with fake connectors and real stores."""

from __future__ import annotations

import asyncio
import threading

import pytest

import connectors.supervisor as supervisor_module
from connectors.breaker import BreakerState
from connectors.errors import PermanentSourceError, PoisonRecordError
from connectors.health import RunStatus
from connectors.retry import RetrySettings
from connectors.supervisor import Supervisor
from storage import Store
from storage.connector_health import load_health
from tests.connectors.runtime_fakes import FakeConnector, config, records, wait_until


def stored_count(store: Store) -> int:
    return sum(store.count_events("source").values())


async def test_runs_to_completion_and_persists_health(store: Store) -> None:
    fake = FakeConnector("a", records("a", 95), batch_size=10)
    async with Supervisor(store, [(fake, config("a"))]) as sup:
        await wait_until(lambda: sup.health.get("a").received == 95)
    assert stored_count(store) == 95
    assert store.get_cursor("a") == "95"
    health = sup.health.get("a")
    assert health.status is RunStatus.STOPPED and health.stored == 95
    with store.read() as session:
        persisted, _ = load_health(session=session)["a"]
    assert persisted["stored"] == 95 and persisted["status"] == "stopped"


async def test_hanging_connector_never_delays_another(sqlite_store: Store) -> None:
    hung = FakeConnector("hung", records("h", 5))
    hung.hang = True
    good = FakeConnector("good", records("g", 200), batch_size=5)
    hung_config = config("hung", timeout_seconds=3.0,
                         retry=RetrySettings(max_attempts=1, budget_seconds=10))
    sup = Supervisor(sqlite_store, [(hung, hung_config), (good, config("good"))])
    async with sup:
        await wait_until(lambda: sup.health.get("good").received == 200, limit=10)
        # 40 polls of the good one completed while the hung one is still in its first.
        assert hung.polls == 1 and sup.health.get("hung").polls == 0
        await wait_until(lambda: sup.health.get("hung").status is RunStatus.FAILING)
    assert sup.health.get("hung").last_error_class == "SourceTimeoutError"


async def test_failing_connector_opens_its_breaker_only(sqlite_store: Store) -> None:
    bad = FakeConnector("bad", records("b", 5))
    bad.fail_with = PermanentSourceError("401 unauthorized")
    good = FakeConnector("good", records("g", 50))
    sup = Supervisor(sqlite_store, [(bad, config("bad")), (good, config("good"))])
    async with sup:
        await wait_until(lambda: sup.health.get("bad").breaker_state is BreakerState.OPEN)
        await wait_until(lambda: sup.health.get("good").received == 50)
        assert sup.health.get("good").breaker_state is BreakerState.CLOSED
        bad.fail_with = None  # the source recovers: a probe closes the breaker
        await wait_until(lambda: sup.health.get("bad").received == 5)
    health = sup.health.get("bad")
    assert health.breaker_state is BreakerState.CLOSED
    assert health.last_error == "401 unauthorized" and health.errors >= 3
    assert bad.polls >= 4  # permanent errors are not retried within a poll


async def test_pause_and_resume(sqlite_store: Store) -> None:
    fake = FakeConnector("p", records("p", 1000), batch_size=1)
    sup = Supervisor(sqlite_store, [(fake, config("p", interval_seconds=0.001))])
    async with sup:
        await wait_until(lambda: fake.polls >= 3)
        sup.pause("p")
        await wait_until(lambda: not sup.runners["p"].polling)  # the in-flight poll ended
        frozen = fake.polls
        await asyncio.sleep(0.1)  # a (wrongly) unpaused runner would poll ~100 times here
        assert fake.polls == frozen
        assert sup.health.get("p").status is RunStatus.PAUSED
        paused_at = fake.polls
        sup.resume("p")
        await wait_until(lambda: fake.polls > paused_at + 3)
        assert sup.health.get("p").status is RunStatus.RUNNING


async def test_shutdown_lets_an_inflight_commit_finish(sqlite_store: Store,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop during a commit: stop waits, and the whole batch plus its cursor are stored."""
    started, release = threading.Event(), threading.Event()
    from connectors.commit import commit_batch as real

    def slow_commit(*args: object) -> object:
        started.set()
        assert release.wait(10)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(supervisor_module, "commit_batch", slow_commit)
    fake = FakeConnector("s", records("s", 500), batch_size=500)
    sup = Supervisor(sqlite_store, [(fake, config("s"))])
    await sup.start()
    await asyncio.to_thread(started.wait, 10)
    stopping = asyncio.create_task(sup.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # stop is waiting for the commit, not abandoning it
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert stored_count(sqlite_store) == 500
    assert sqlite_store.get_cursor("s") == "500"


async def test_shutdown_during_poll_commits_nothing(sqlite_store: Store) -> None:
    fake = FakeConnector("h", records("h", 10))
    fake.hang = True
    sup = Supervisor(sqlite_store, [(fake, config("h", timeout_seconds=30))])
    await sup.start()
    await fake.poll_started.wait()
    await asyncio.wait_for(sup.stop(), 5)
    assert stored_count(sqlite_store) == 0 and sqlite_store.get_cursor("h") is None


async def test_resumes_from_the_stored_cursor(sqlite_store: Store) -> None:
    data = records("r", 30)
    first = Supervisor(sqlite_store, [(FakeConnector("r", data[:20]), config("r"))])
    summary = await first.sync()
    assert summary["r"].stored == 20
    second = Supervisor(sqlite_store, [(FakeConnector("r", data), config("r"))])
    summary = await second.sync()
    assert (summary["r"].received, summary["r"].stored, summary["r"].deduplicated) == (10, 10, 0)
    assert stored_count(sqlite_store) == 30


async def test_sync_reports_failure(sqlite_store: Store) -> None:
    bad = FakeConnector("bad", records("b", 5))
    bad.fail_with = PermanentSourceError("not a repository")
    good = FakeConnector("good", records("g", 25, poison_every=5))
    summary = await Supervisor(sqlite_store, [(bad, config("bad")),
                                              (good, config("good"))]).sync()
    assert summary["bad"].failed and "not a repository" in (summary["bad"].error or "")
    g = summary["good"]
    assert not g.failed
    assert (g.received, g.stored, g.dead_lettered, g.errors) == (25, 20, 5, 0)


async def test_a_poll_blocked_by_poison_keeps_it_in_the_dlq(sqlite_store: Store) -> None:
    fake = FakeConnector("x", records("x", 3))
    fake.fail_with = PoisonRecordError("header unreadable", payload=b"\x00raw", source_ref="f:0")
    sup = Supervisor(sqlite_store, [(fake, config("x"))])
    first = await sup.sync()
    assert first["x"].failed and "header unreadable" in (first["x"].error or "")
    await sup.sync()
    letters = sqlite_store.list_dead_letters(connector="x").items
    assert len(letters) == 1 and letters[0].payload == b"\x00raw" and letters[0].attempts == 2
    assert letters[0].source_ref == "f:0" and sqlite_store.get_cursor("x") is None
    fake.fail_with = None
    assert not (await sup.sync())["x"].failed
    assert stored_count(sqlite_store) == 3
