"""Retry policy (reliability.md §1.3, RT-BOUNDS … RT-TOTAL-BUDGET)."""

from __future__ import annotations

import random
import statistics

import pytest
from tenacity import RetryCallState

from connectors.breaker import BreakerSettings, CircuitBreaker, CircuitOpenError
from connectors.errors import (
    PermanentSourceError,
    PoisonRecordError,
    RateLimitedError,
    SourceTimeoutError,
    TransientSourceError,
)
from connectors.retry import RetrySettings, call_with_retry, wait_full_jitter_or_retry_after


class FakeTime:
    """A clock plus an async sleep that advances it (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Source:
    def __init__(self, errors: list[BaseException], cost: float = 0.0,
                 time: FakeTime | None = None) -> None:
        self.errors = errors
        self.calls = 0
        self.cost = cost
        self.time = time

    async def __call__(self) -> str:
        self.calls += 1
        if self.time is not None:
            self.time.now += self.cost
        if self.errors:
            raise self.errors.pop(0)
        return "data"


def state_after(attempt: int, error: BaseException) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


@pytest.mark.parametrize("attempt", [1, 3, 6])
def test_full_jitter_bounds_and_mean(attempt: int) -> None:
    """RT-BOUNDS: samples in [0, min(cap, b*2^(n-1))], mean within 5% of half of it."""
    random.seed(attempt)
    settings = RetrySettings(base_seconds=0.5, max_wait_seconds=10.0)
    wait = wait_full_jitter_or_retry_after(settings)
    upper = min(10.0, 0.5 * 2 ** (attempt - 1))
    state = state_after(attempt, TransientSourceError("x"))
    samples = [wait(state) for _ in range(10_000)]
    assert all(0.0 <= s <= upper for s in samples)
    assert statistics.fmean(samples) == pytest.approx(upper / 2, rel=0.05)


def test_retry_after_takes_priority_and_is_capped() -> None:
    """RT-RETRY-AFTER: wait exactly retry_after (>= computed backoff), capped."""
    wait = wait_full_jitter_or_retry_after(RetrySettings(retry_after_cap_seconds=20))
    assert wait(state_after(1, RateLimitedError("slow down", retry_after=7.0))) == 7.0
    assert wait(state_after(1, RateLimitedError("slow down", retry_after=500.0))) == 20.0
    assert wait(state_after(1, RateLimitedError("slow down"))) <= 0.5


async def test_stop_after_attempt_makes_exactly_k_calls() -> None:
    """RT-STOP: k attempts then the last error, unchanged."""
    fake = FakeTime()
    source = Source([SourceTimeoutError(f"t{i}") for i in range(10)])
    retries: list[int] = []
    with pytest.raises(SourceTimeoutError, match="t3"):
        await call_with_retry(source, RetrySettings(max_attempts=4), sleep=fake.sleep,
                              clock=fake.clock,
                              on_retry=lambda rs: retries.append(rs.attempt_number))
    assert source.calls == 4 and retries == [1, 2, 3] and len(fake.sleeps) == 3


async def test_success_after_transient_errors() -> None:
    fake = FakeTime()
    source = Source([TransientSourceError("a"), TransientSourceError("b")])
    assert await call_with_retry(source, RetrySettings(), sleep=fake.sleep,
                                 clock=fake.clock) == "data"
    assert source.calls == 3


@pytest.mark.parametrize("error", [
    PermanentSourceError("401"),
    PoisonRecordError("bad", payload=b"x"),
    ValueError("our own bug"),
])
async def test_non_retryable_errors_make_one_call(error: BaseException) -> None:
    """RT-CLASSIFY: permanent errors, poison records and bugs are not retried."""
    fake = FakeTime()
    source = Source([error])
    with pytest.raises(type(error)):
        await call_with_retry(source, RetrySettings(), sleep=fake.sleep, clock=fake.clock)
    assert source.calls == 1 and fake.sleeps == []


async def test_rate_limited_waits_as_asked() -> None:
    fake = FakeTime()
    source = Source([RateLimitedError("429", retry_after=12.5)])
    await call_with_retry(source, RetrySettings(), sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == [12.5]


async def test_total_budget_is_never_exceeded() -> None:
    """RT-TOTAL-BUDGET: elapsed time (attempts + sleeps) stays within the budget."""
    for seed in range(50):
        random.seed(seed)
        fake = FakeTime()
        source = Source([TransientSourceError("x")] * 1000, cost=0.7, time=fake)
        settings = RetrySettings(max_attempts=100, budget_seconds=10.0, base_seconds=1.0)
        with pytest.raises(TransientSourceError):
            await call_with_retry(source, settings, sleep=fake.sleep, clock=fake.clock)
        # The stop check happens before each sleep; only the last attempt may run over.
        assert fake.now - 0.7 <= 10.0
        assert source.calls < 100


async def test_retries_wrap_breaker_and_stop_on_open() -> None:
    """RT-CB-COMPOSITION: each attempt is one breaker sample; open ends the loop at once."""
    fake = FakeTime()
    breaker = CircuitBreaker("src", BreakerSettings(minimum_calls=2, cooldown_seconds=60),
                             clock=fake.clock)
    source = Source([TransientSourceError("down")] * 10)
    with pytest.raises(CircuitOpenError):
        await call_with_retry(source, RetrySettings(max_attempts=10), breaker=breaker,
                              sleep=fake.sleep, clock=fake.clock)
    # Two real attempts tripped it; the third attempt met the open breaker and stopped.
    assert source.calls == 2
    assert breaker.not_permitted == 1
    assert len(fake.sleeps) == 2  # backoff still applied between attempts
