"""An asyncio circuit breaker, one per connector.

States and the only legal transitions::

    CLOSED ──(failure rate >= threshold over the window, with >= minimum_calls)──► OPEN
    OPEN ──(cooldown elapsed; checked when a call asks for a permit)──► HALF_OPEN
    HALF_OPEN ──(probe_permits successful probes)──► CLOSED
    HALF_OPEN ──(any probe fails)──► OPEN (cooldown restarts)
    any ──force_open()──► OPEN (held: no probe until force_close())
    any ──force_close()──► CLOSED (window cleared)

Decisions (reliability.md §1.3):

* The threshold compares with ``>=`` (exactly at the threshold trips).
* The window is a sliding *time* window; outcomes older than ``window_seconds`` stop counting.
* The call that trips the breaker raises its own, original error (as Polly and
  resilience4j do); only later calls get :class:`CircuitOpenError`.
* Ignored errors (``PoisonRecordError`` by default: the record's fault, not the
  source's) count for nothing: they neither trip nor reset, and in HALF_OPEN the
  probe permit goes back to the pool. A cancelled call does the same.
* Outcomes of calls admitted before a transition are dropped: a slow call started
  while CLOSED cannot close a breaker that has since opened.
* State is not persisted: a fresh process starts CLOSED.

Every transition is logged once, counted once, and delivered once to each listener.
A lock makes every method safe to call from another thread (the health snapshot
reads from the API and TUI threads); admission itself is synchronous, so on one
event loop exactly ``probe_permits`` of any number of concurrent callers get in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from connectors.errors import ConnectorError, PoisonRecordError

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]


class BreakerState(StrEnum):
    """The three breaker states."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


LEGAL = frozenset({
    (BreakerState.CLOSED, BreakerState.OPEN),
    (BreakerState.OPEN, BreakerState.HALF_OPEN),
    (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    (BreakerState.HALF_OPEN, BreakerState.OPEN),
})
"""Transitions the breaker makes by itself; force_open/force_close may do any other."""


class CircuitOpenError(ConnectorError):
    """The breaker refused the call without calling the source.

    Not a ``TransientSourceError`` on purpose: retrying while OPEN would only spin,
    so the retry loop stops at once and the supervisor waits for ``retry_in``.
    """

    def __init__(self, name: str, retry_in: float | None) -> None:
        hint = "held open" if retry_in is None else f"next probe in {retry_in:.1f}s"
        super().__init__(f"circuit for {name} is open ({hint})")
        self.name = name
        self.retry_in = retry_in


class BreakerSettings(BaseModel):
    """Tuning of one breaker (the ``breaker`` table of a connector's config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_rate_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    """Trip when failures / calls in the window is at least this."""
    minimum_calls: int = Field(default=5, ge=1)
    """Calls needed in the window before the rate is evaluated."""
    window_seconds: float = Field(default=300.0, gt=0)
    """Sliding window over which the failure rate is computed."""
    cooldown_seconds: float = Field(default=60.0, ge=0)
    """How long OPEN lasts before a probe is allowed."""
    probe_permits: int = Field(default=1, ge=1)
    """Probe calls admitted in HALF_OPEN; all must succeed to close."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change, as delivered to listeners."""

    breaker: str
    source: BreakerState
    target: BreakerState
    at: float
    reason: str


Listener = Callable[[Transition], None]


@dataclass(slots=True)
class Permit:
    """The right to make one call; report exactly one outcome on it."""

    generation: int
    probe: bool
    done: bool = False


class CircuitBreaker:
    """A per-connector breaker with an injected clock (``time.monotonic`` by default)."""

    def __init__(self, name: str, settings: BreakerSettings | None = None, *,
                 clock: Clock = time.monotonic,
                 ignore: tuple[type[BaseException], ...] = (PoisonRecordError,)) -> None:
        self.name = name
        self.settings = settings or BreakerSettings()
        self.ignore = ignore
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._since = clock()
        self._held = False
        self._generation = 0
        self._window: deque[tuple[float, bool]] = deque()
        self._failures = 0  # failures in _window, kept incrementally (O(1) per call)
        self._probes_free = 0
        self._probes_ok = 0
        self._listeners: list[Listener] = []
        self.transitions: Counter[tuple[BreakerState, BreakerState]] = Counter()
        self.not_permitted = 0

    # -- observation -------------------------------------------------------------
    @property
    def state(self) -> BreakerState:
        """The current state (OPEN stays OPEN until a call asks after the cooldown)."""
        return self._state

    @property
    def since(self) -> float:
        """Clock reading of the last transition (or construction)."""
        return self._since

    @property
    def held(self) -> bool:
        """Whether :meth:`force_open` holds the breaker open."""
        return self._held

    def retry_in(self) -> float | None:
        """Seconds until a probe may be admitted (0 if now; ``None`` if held open)."""
        with self._lock:
            if self._held:
                return None
            if self._state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self._since + self.settings.cooldown_seconds - self._clock())

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` once per transition (from whichever thread made it)."""
        self._listeners.append(listener)

    # -- admission ---------------------------------------------------------------
    def acquire(self) -> Permit:
        """A permit for one call, or :class:`CircuitOpenError` without calling anything."""
        fired: Transition | None = None
        with self._lock:
            now = self._clock()
            if (self._state is BreakerState.OPEN and not self._held
                    and now >= self._since + self.settings.cooldown_seconds):
                fired = self._move(BreakerState.HALF_OPEN, now, "cooldown elapsed")
                self._probes_free = self.settings.probe_permits
                self._probes_ok = 0
            permit = self._admit(now)
        self._notify(fired)
        if permit is None:
            raise CircuitOpenError(self.name, self.retry_in())
        return permit

    def _admit(self, now: float) -> Permit | None:
        if self._state is BreakerState.CLOSED:
            return Permit(self._generation, probe=False)
        if self._state is BreakerState.HALF_OPEN and self._probes_free > 0:
            self._probes_free -= 1
            return Permit(self._generation, probe=True)
        self.not_permitted += 1
        return None

    # -- outcomes ----------------------------------------------------------------
    def success(self, permit: Permit) -> None:
        """Report that the permitted call succeeded."""
        self._finish(permit, failed=False)

    def failure(self, permit: Permit) -> None:
        """Report that the permitted call failed in a way that counts."""
        self._finish(permit, failed=True)

    def release(self, permit: Permit) -> None:
        """Give the permit back without an outcome (ignored error or cancellation)."""
        with self._lock:
            if permit.done:
                return
            permit.done = True
            if permit.probe and permit.generation == self._generation:
                self._probes_free += 1

    def _finish(self, permit: Permit, *, failed: bool) -> None:
        with self._lock:
            if permit.done:
                return
            permit.done = True
            if permit.generation != self._generation:
                return
            now = self._clock()
            fired = (self._after_probe(now, failed) if permit.probe
                     else self._after_call(now, failed))
        self._notify(fired)

    def _after_call(self, now: float, failed: bool) -> Transition | None:
        self._window.append((now, failed))
        self._failures += failed
        self._prune(now)
        calls, failures = len(self._window), self._failures
        if calls < self.settings.minimum_calls:
            return None
        if failures / calls >= self.settings.failure_rate_threshold:
            return self._move(BreakerState.OPEN, now,
                              f"failure rate {failures}/{calls} >= "
                              f"{self.settings.failure_rate_threshold:g}")
        return None

    def _after_probe(self, now: float, failed: bool) -> Transition | None:
        if failed:
            return self._move(BreakerState.OPEN, now, "probe failed")
        self._probes_ok += 1
        if self._probes_ok >= self.settings.probe_permits:
            return self._move(BreakerState.CLOSED, now,
                              f"{self._probes_ok} probe(s) succeeded")
        return None

    def _prune(self, now: float) -> None:
        horizon = now - self.settings.window_seconds
        while self._window and self._window[0][0] <= horizon:
            self._failures -= self._window.popleft()[1]

    # -- administration ----------------------------------------------------------
    def force_open(self) -> None:
        """Open and hold open (no probes) until :meth:`force_close`."""
        with self._lock:
            self._held = True
            fired = None
            if self._state is not BreakerState.OPEN:
                fired = self._move(BreakerState.OPEN, self._clock(), "forced open",
                                   forced=True)
        self._notify(fired)

    def force_close(self) -> None:
        """Close now, clearing the window and any hold."""
        with self._lock:
            self._held = False
            fired = None
            if self._state is not BreakerState.CLOSED:
                fired = self._move(BreakerState.CLOSED, self._clock(), "forced closed",
                                   forced=True)
        self._notify(fired)

    # -- transitions -------------------------------------------------------------
    def _move(self, target: BreakerState, now: float, reason: str, *,
              forced: bool = False) -> Transition:
        source = self._state
        if not forced and (source, target) not in LEGAL:
            raise AssertionError(f"illegal breaker transition {source} -> {target}")
        self._state = target
        self._since = now
        self._generation += 1
        self._window.clear()
        self._failures = 0
        self._probes_free = 0
        self._probes_ok = 0
        self.transitions[(source, target)] += 1
        return Transition(self.name, source, target, now, reason)

    def _notify(self, fired: Transition | None) -> None:
        if fired is None:
            return
        log.warning("circuit %s: %s -> %s (%s)", fired.breaker, fired.source, fired.target,
                    fired.reason)
        for listener in list(self._listeners):
            try:
                listener(fired)
            except Exception:  # a broken listener must not break the connector
                log.exception("breaker listener failed")

    # -- calling -----------------------------------------------------------------
    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """``async with breaker.guard():`` around one call to the source.

        Exceptions in ``ignore`` and cancellation release the permit; any other
        exception counts as a failure and propagates unchanged.
        """
        permit = self.acquire()
        try:
            yield
        except self.ignore:
            self.release(permit)
            raise
        except Exception:
            self.failure(permit)
            raise
        except BaseException:  # CancelledError, KeyboardInterrupt: no verdict on the source
            self.release(permit)
            raise
        self.success(permit)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn()`` under :meth:`guard` and return its result."""
        async with self.guard():
            return await fn()
