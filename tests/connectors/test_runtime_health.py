"""Health registry thread-safety, poll scheduling (armed on completion, jitter)."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import UTC, datetime, timedelta

from connectors.base import Batch
from connectors.breaker import BreakerSettings, BreakerState, CircuitBreaker
from connectors.health import ConnectorHealth, HealthRegistry, RunStatus
from connectors.supervisor import Supervisor
from storage import Store
from storage.models import IngestResult, NewDeadLetter
from tests.connectors.runtime_fakes import FakeConnector, config, records, wait_until


def test_counters_are_exact_under_concurrent_writers() -> None:
    health = HealthRegistry()
    health.register("c", "fake")
    one = IngestResult(received=3, stored=2, deduplicated=1, dead_lettered=0)
    seen: list[ConnectorHealth] = []
    health.add_listener(seen.append)

    def writer() -> None:
        for _ in range(500):
            health.record_batch("c", 3, one)
            health.record_retry("c")
            health.snapshot()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = health.get("c")
    assert (final.polls, final.received, final.stored, final.deduplicated, final.retries) == (
        4000, 12000, 8000, 4000, 4000)
    assert len(seen) == 8000
    snapshot = health.snapshot()
    health.record_retry("c")
    assert snapshot["c"].retries == 4000  # a snapshot is a frozen copy


def test_error_then_success_moves_failing_back_to_running() -> None:
    health = HealthRegistry(clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    health.register("c", "fake")
    health.set_status("c", RunStatus.RUNNING)
    health.record_error("c", ValueError("boom"))
    h = health.get("c")
    assert (h.status, h.last_error, h.last_error_class, h.errors) == (
        RunStatus.FAILING, "boom", "ValueError", 1)
    health.record_batch("c", 0, IngestResult(received=0, stored=0, deduplicated=0,
                                             dead_lettered=0), dlq_size=4)
    h = health.get("c")
    assert h.status is RunStatus.RUNNING and h.dlq_size == 4
    assert h.last_success_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_breaker_transitions_reach_health() -> None:
    health = HealthRegistry()
    health.register("c", "fake")
    breaker = CircuitBreaker("c", BreakerSettings(minimum_calls=1))
    breaker.add_listener(lambda t: health.record_transition("c", t))
    breaker.failure(breaker.acquire())
    h = health.get("c")
    assert h.breaker_state is BreakerState.OPEN and h.breaker_transitions == 1
    assert h.breaker_since is not None


class SlowConnector(FakeConnector):
    """Each poll takes a while and records how many polls overlapped."""

    def __init__(self) -> None:
        super().__init__("slow", [])
        self.active = 0
        self.max_active = 0

    async def poll(self, cursor: str | None) -> Batch:
        self.polls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        await asyncio.sleep(0.03)
        self.active -= 1
        return Batch(cursor=str(self.polls))


async def test_next_poll_is_armed_after_the_previous_finishes(sqlite_store: Store) -> None:
    slow = SlowConnector()
    # An interval shorter than the poll: a timer-based scheduler would overlap polls.
    async with Supervisor(sqlite_store, [(slow, config("slow", interval_seconds=0.001))]) as sup:
        await wait_until(lambda: slow.polls >= 5)
        assert sup.health.get("slow").next_poll_at is not None
    assert slow.max_active == 1


def test_delay_has_bounded_jitter_and_respects_the_breaker(sqlite_store: Store) -> None:
    fake = FakeConnector("j", records("j", 1))
    sup = Supervisor(sqlite_store, [(fake, config("j", interval_seconds=10.0))], jitter=0.2,
                     rng=random.Random(3))
    runner = sup.runners["j"]
    delays = [sup._delay(runner) for _ in range(2000)]
    assert min(delays) >= 8.0 and max(delays) <= 12.0
    assert max(delays) - min(delays) > 3.0  # really jittered, not constant
    clock = [0.0]
    runner.breaker = CircuitBreaker("j", BreakerSettings(minimum_calls=1,
                                                         cooldown_seconds=60),
                                    clock=lambda: clock[0])
    runner.breaker.failure(runner.breaker.acquire())
    assert sup._delay(runner) == 60.0  # no poll before the breaker would admit a probe


async def test_health_starts_with_the_stored_dlq_size(sqlite_store: Store) -> None:
    sqlite_store.ingest([], dead_letters_=[NewDeadLetter(connector="d", payload=b"x",
                                                         error_class="E", message="m")])
    fake = FakeConnector("d", [])
    sup = Supervisor(sqlite_store, [(fake, config("d", interval_seconds=30))])
    async with sup:
        await wait_until(lambda: sup.health.get("d").next_poll_at is not None)
        assert sup.health.get("d").dlq_size == 1 and sup.health.get("d").polls == 1
        next_poll = sup.health.get("d").next_poll_at
        assert next_poll is not None
        assert next_poll - datetime.now(UTC) > timedelta(seconds=20)
