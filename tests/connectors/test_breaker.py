"""Circuit-breaker semantics (reliability.md §1.3, CB-STATES … CB-ISOLATION)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from connectors.breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    Transition,
)
from connectors.errors import PoisonRecordError, TransientSourceError

CLOSED, OPEN, HALF = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Upstream:
    """A fake source that counts its calls and fails on demand."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def __call__(self) -> str:
        self.calls += 1
        if self.fail:
            raise TransientSourceError("down")
        return "ok"


def make(clock: FakeClock, **kw: float) -> tuple[CircuitBreaker, list[Transition]]:
    settings = BreakerSettings(**{"failure_rate_threshold": 0.5, "minimum_calls": 4,
                                  "window_seconds": 60, "cooldown_seconds": 30,
                                  "probe_permits": 2, **kw})
    breaker = CircuitBreaker("src", settings, clock=clock)
    events: list[Transition] = []
    breaker.add_listener(events.append)
    return breaker, events


async def outcome(breaker: CircuitBreaker, up: Upstream, *, fail: bool) -> None:
    up.fail = fail
    with contextlib.suppress(TransientSourceError):
        await breaker.call(up)


async def trip(breaker: CircuitBreaker, up: Upstream) -> None:
    for _ in range(breaker.settings.minimum_calls):
        if breaker.state is OPEN:
            break
        await outcome(breaker, up, fail=True)
    assert breaker.state is OPEN


async def test_volume_gate_keeps_closed_below_minimum_calls() -> None:
    """CB-VOLUME: m-1 consecutive failures leave it CLOSED; the m-th trips."""
    breaker, events = make(FakeClock())
    up = Upstream()
    for _ in range(3):
        await outcome(breaker, up, fail=True)
    assert breaker.state is CLOSED and events == []
    await outcome(breaker, up, fail=True)
    assert breaker.state is OPEN
    assert [(e.source, e.target) for e in events] == [(CLOSED, OPEN)]


async def test_threshold_is_inclusive() -> None:
    """CB-THRESHOLD: exactly 50% trips (>=); one failure fewer does not."""
    breaker, _ = make(FakeClock())
    up = Upstream()
    for fail in (False, False, True, True):
        await outcome(breaker, up, fail=fail)
    assert breaker.state is OPEN

    below, _ = make(FakeClock())
    for fail in (False, False, False, True):
        await outcome(below, up, fail=fail)
    assert below.state is CLOSED


async def test_window_forgets_old_failures() -> None:
    """CB-WINDOW: failures older than the window no longer count."""
    clock = FakeClock()
    breaker, _ = make(clock)
    up = Upstream()
    for _ in range(3):
        await outcome(breaker, up, fail=True)
    clock.advance(61)
    for _ in range(3):
        await outcome(breaker, up, fail=False)
    await outcome(breaker, up, fail=True)
    # In the window: 3 successes + 1 failure = 25% < 50%.
    assert breaker.state is CLOSED


async def test_open_fails_fast_without_calling_upstream() -> None:
    """CB-FAILFAST: 0 upstream calls while OPEN, a quick CircuitOpenError, a counter."""
    breaker, _ = make(FakeClock())
    up = Upstream()
    await trip(breaker, up)
    calls = up.calls
    durations = []
    for _ in range(1000):
        start = time.perf_counter()
        with pytest.raises(CircuitOpenError) as info:
            await breaker.call(up)
        durations.append(time.perf_counter() - start)
    assert up.calls == calls
    assert breaker.not_permitted == 1000
    assert info.value.retry_in == pytest.approx(30)
    assert sorted(durations)[989] < 0.001


async def test_trip_call_raises_original_error() -> None:
    """CB-TRIP-CALL: the call that trips gets its own error, the next one CircuitOpenError."""
    breaker, _ = make(FakeClock(), minimum_calls=1)
    up = Upstream()
    up.fail = True
    with pytest.raises(TransientSourceError) as info:
        await breaker.call(up)
    assert not isinstance(info.value, CircuitOpenError)
    assert breaker.state is OPEN
    with pytest.raises(CircuitOpenError):
        await breaker.call(up)


async def test_no_half_open_before_cooldown_and_never_from_closed() -> None:
    """CB-STATES: OPEN -> HALF_OPEN only after the cooldown; CLOSED never half-opens."""
    clock = FakeClock()
    breaker, events = make(clock)
    up = Upstream()
    clock.advance(1000)
    await outcome(breaker, up, fail=False)
    assert breaker.state is CLOSED
    await trip(breaker, up)
    clock.advance(29.5)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(0.5)
    permit = breaker.acquire()
    assert breaker.state is HALF
    breaker.success(permit)
    assert [(e.source, e.target) for e in events] == [(CLOSED, OPEN), (OPEN, HALF)]


async def _probe(breaker: CircuitBreaker, gate: asyncio.Event, admitted: list[int]) -> None:
    async with breaker.guard():
        admitted.append(1)
        await gate.wait()


async def test_probe_count_is_exact_under_concurrency() -> None:
    """CB-PROBE-COUNT: 100 concurrent callers in HALF_OPEN, exactly N admitted, 1000 times."""
    clock = FakeClock()
    for permits in (1, 3):
        breaker, _ = make(clock, probe_permits=permits)
        up = Upstream()
        for _ in range(1000):
            await trip(breaker, up)
            clock.advance(30)
            gate = asyncio.Event()
            admitted: list[int] = []
            tasks = [asyncio.create_task(_probe(breaker, gate, admitted)) for _ in range(100)]
            await asyncio.sleep(0)
            gate.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            rejected = sum(isinstance(r, CircuitOpenError) for r in results)
            assert len(admitted) == permits and rejected == 100 - permits
            assert breaker.state is CLOSED


async def test_probe_outcomes() -> None:
    """CB-PROBE-OUTCOME: N successes close with a fresh window; one failure reopens."""
    clock = FakeClock()
    breaker, _ = make(clock)
    up = Upstream()
    await trip(breaker, up)
    clock.advance(30)
    await outcome(breaker, up, fail=False)
    assert breaker.state is HALF
    await outcome(breaker, up, fail=False)
    assert breaker.state is CLOSED
    # Counters reset on close: three new failures are below the volume gate.
    for _ in range(3):
        await outcome(breaker, up, fail=True)
    assert breaker.state is CLOSED
    await outcome(breaker, up, fail=True)
    clock.advance(30)
    await outcome(breaker, up, fail=True)
    assert breaker.state is OPEN
    assert breaker.retry_in() == pytest.approx(30)  # the wait restarted


async def test_cancelled_probe_releases_its_permit() -> None:
    """CB-CANCEL: cancelling the probe leaves room for another; never stuck in HALF_OPEN."""
    clock = FakeClock()
    breaker, _ = make(clock, probe_permits=1)
    up = Upstream()
    await trip(breaker, up)
    clock.advance(30)
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(breaker.call(hang))
    await started.wait()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state is HALF
    await outcome(breaker, up, fail=False)
    assert breaker.state is CLOSED


async def test_ignored_errors_neither_trip_nor_reset() -> None:
    """CB-IGNORED: poison records count for nothing (not failures, not successes)."""
    clock = FakeClock()
    breaker, _ = make(clock, probe_permits=1)

    async def poison() -> None:
        raise PoisonRecordError("bad record", payload=b"x")

    for _ in range(10):
        with pytest.raises(PoisonRecordError):
            await breaker.call(poison)
    assert breaker.state is CLOSED
    up = Upstream()
    await trip(breaker, up)
    clock.advance(30)
    with pytest.raises(PoisonRecordError):
        await breaker.call(poison)
    assert breaker.state is HALF  # not closed by the ignored error; permit returned
    await outcome(breaker, up, fail=False)
    assert breaker.state is CLOSED


async def test_force_open_holds_and_force_close_resets() -> None:
    """Admin transitions: held open ignores the cooldown; each emits one event."""
    clock = FakeClock()
    breaker, events = make(clock)
    up = Upstream()
    breaker.force_open()
    breaker.force_open()
    clock.advance(10_000)
    with pytest.raises(CircuitOpenError) as info:
        await breaker.call(up)
    assert info.value.retry_in is None and up.calls == 0
    breaker.force_close()
    breaker.force_close()
    await outcome(breaker, up, fail=False)
    assert [(e.source, e.target) for e in events] == [(CLOSED, OPEN), (OPEN, CLOSED)]
    assert breaker.transitions[(CLOSED, OPEN)] == 1


async def test_stale_outcome_after_transition_is_dropped() -> None:
    """A call admitted while CLOSED that finishes after the trip cannot close the breaker."""
    clock = FakeClock()
    breaker, _ = make(clock)
    up = Upstream()
    slow = breaker.acquire()
    await trip(breaker, up)
    clock.advance(30)
    probe = breaker.acquire()
    breaker.success(slow)
    breaker.success(slow)
    assert breaker.state is HALF
    breaker.failure(probe)
    assert breaker.state is OPEN


async def test_breakers_are_isolated() -> None:
    """CB-ISOLATION: one connector's open breaker does not touch another's calls."""
    clock = FakeClock()
    a, _ = make(clock)
    b, _ = make(clock)
    up_a, up_b = Upstream(), Upstream()
    await trip(a, up_a)
    assert await b.call(up_b) == "ok"
    assert b.state is CLOSED


def test_fresh_breaker_starts_closed() -> None:
    """CB-PERSIST: state is not persisted; a new breaker (new process) is CLOSED."""
    assert CircuitBreaker("src").state is CLOSED


def test_transition_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """Every transition produces exactly one log line."""
    breaker = CircuitBreaker("src", BreakerSettings(minimum_calls=1))
    with caplog.at_level("WARNING", logger="connectors.breaker"):
        breaker.failure(breaker.acquire())
        breaker.force_close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["circuit src: closed -> open (failure rate 1/1 >= 0.5)",
                     "circuit src: open -> closed (forced closed)"]
