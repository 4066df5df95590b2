"""The retry policy: tenacity with full jitter, bounded attempts and a total time budget.

Only :class:`~connectors.errors.TransientSourceError` is retried. Permanent errors,
poison records and :class:`~connectors.breaker.CircuitOpenError` end the loop at
once, re-raised unchanged (``reraise=True``: callers branch on the real class).

Composition (reliability.md §1.3 RT-CB-COMPOSITION): **retries wrap the breaker**.
Each attempt is one breaker sample (the resilience4j model), and since an OPEN
breaker raises the non-retryable ``CircuitOpenError``, a retry loop meets at most
one rejection and never spins against an open circuit.

Waits are AWS "Full Jitter" (``wait_random_exponential``): attempt ``n`` sleeps
``U(0, min(max_wait, base * 2**(n-1)))``. A ``RateLimitedError`` carrying
``retry_after`` sleeps that long instead (capped at ``retry_after_cap``). The
total budget counts elapsed time plus the next sleep: the loop stops *before* a
sleep that would overrun it, so one poll never blocks longer than ``budget_seconds``
plus one attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from connectors.errors import RateLimitedError, TransientSourceError

if TYPE_CHECKING:
    from connectors.breaker import CircuitBreaker

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
OnRetry = Callable[[RetryCallState], None]


class RetrySettings(BaseModel):
    """Tuning of the retry loop around one poll (the ``retry`` table of a connector)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=4, ge=1)
    """Calls to the source at most, the first included."""
    budget_seconds: float = Field(default=60.0, gt=0)
    """Total time for all attempts and waits of one poll."""
    base_seconds: float = Field(default=0.5, gt=0)
    """Full-jitter multiplier: attempt n waits up to base * 2**(n-1)."""
    max_wait_seconds: float = Field(default=30.0, gt=0)
    """Upper bound of any computed wait."""
    retry_after_cap_seconds: float = Field(default=120.0, gt=0)
    """Upper bound of a wait the source asks for with Retry-After."""


class wait_full_jitter_or_retry_after(wait_base):  # noqa: N801 - tenacity's naming
    """Full jitter, unless the source said how long to wait (that takes priority)."""

    def __init__(self, settings: RetrySettings) -> None:
        self.jitter = wait_random_exponential(multiplier=settings.base_seconds,
                                              max=settings.max_wait_seconds)
        self.cap = settings.retry_after_cap_seconds

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.cap)
        return float(self.jitter(retry_state))


class stop_before_budget(stop_base):  # noqa: N801 - tenacity's naming
    """Stop when elapsed time plus the upcoming sleep would reach the budget.

    Uses an injected clock (tenacity's own delay stops read ``time.monotonic``),
    so tests with a fake sleep can advance time deterministically.
    """

    def __init__(self, budget: float, clock: Clock) -> None:
        self.budget = budget
        self.clock = clock
        self.start = clock()

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.clock() - self.start + retry_state.upcoming_sleep >= self.budget


def retrying(settings: RetrySettings, *, sleep: Sleep = asyncio.sleep,
             clock: Clock = time.monotonic, on_retry: OnRetry | None = None) -> AsyncRetrying:
    """A fresh tenacity loop for one poll (its budget starts now)."""
    return AsyncRetrying(
        retry=retry_if_exception_type(TransientSourceError),
        wait=wait_full_jitter_or_retry_after(settings),
        stop=stop_after_attempt(settings.max_attempts)
        | stop_before_budget(settings.budget_seconds, clock),
        sleep=sleep,
        before_sleep=on_retry,
        reraise=True,
    )


async def call_with_retry(fn: Callable[[], Awaitable[T]], settings: RetrySettings, *,
                          breaker: CircuitBreaker | None = None, sleep: Sleep = asyncio.sleep,
                          clock: Clock = time.monotonic, on_retry: OnRetry | None = None) -> T:
    """Call ``fn`` with retries; each attempt goes through ``breaker`` if given."""
    async for attempt in retrying(settings, sleep=sleep, clock=clock, on_retry=on_retry):
        with attempt:
            if breaker is None:
                return await fn()
            return await breaker.call(fn)
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
