"""A token-bucket rate limiter keyed by API token, or by what a failed attempt guessed."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """``rate`` requests per second sustained, ``burst`` at once, per key.

    :meth:`take` returns 0 when the request may go ahead, otherwise the seconds to
    wait (what ``Retry-After`` reports). Thread-safe; the clock is injectable.
    """

    def __init__(self, rate: float, burst: int, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def take(self, key: str) -> float:
        """Spend one token from ``key``'s bucket; the wait in seconds if it is empty."""
        return self._visit(key, spend=True)

    def wait(self, key: str) -> float:
        """The wait before ``key`` may spend a token (0 if now), without spending one."""
        return self._visit(key, spend=False)

    def _visit(self, key: str, *, spend: bool) -> float:
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if not spend:
                    return 0.0
                if len(self._buckets) >= self._max_keys:
                    self._buckets.clear()  # bounded memory beats perfect fairness
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                if spend:
                    bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def retry_after_header(wait: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
