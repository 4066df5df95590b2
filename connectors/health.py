"""The health registry: what each connector is doing, for the TUI, the API and metrics.

Written by the supervisor on the event loop, read from any thread (the API's
uvicorn thread, the TUI's workers): every access holds one lock, and readers get
frozen :class:`ConnectorHealth` values, never the mutable state.

Each entry belongs to a tenant, like the rows its connector writes: a connector's to
its configured tenant (:data:`UNASSIGNED`, seen by nobody, until its task has found
that tenant's id in the store), a push receiver's to the tenant of each delivery, so
the same receiver has one entry per tenant that sent to it. Readers ask for one
tenant's entries (:meth:`HealthRegistry.snapshot`); calls that name only a connector
mean the tenant it was registered in (connector names are unique in a deployment).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectors.breaker import BreakerState, Transition
from storage.models import IngestResult, utcnow
from storage.tenant_context import DEFAULT_TENANT
from storage.times import Skew, skew_of

MAX_WARNINGS = 20
"""Warnings kept per connector (the first ones of the last poll)."""
SKEW_WINDOW = 200
"""Latest events whose receive-minus-event time a connector's skew is the median of."""
SKEW_MIN_EVENTS = 20
"""Fewer recent events than this say nothing about a clock."""
SKEW_WARN = timedelta(minutes=5)
"""Default threshold of the clock warning (``clock_skew_warn_seconds``)."""
UNASSIGNED = 0
"""The tenant of a connector whose tenant's id is not known yet (no tenant has id 0)."""
Key = tuple[int, str]


class RunStatus(StrEnum):
    """What a connector's runner is doing."""

    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    STANDBY = "standby"
    """Another instance holds this connector's lease; this one waits to take over."""
    FAILING = "failing"
    STOPPED = "stopped"


class ConnectorHealth(BaseModel):
    """One connector's health at one moment.

    ``status`` is the runner's state; ``breaker_state`` the circuit breaker's.
    Counters are totals since this process started the connector.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    status: RunStatus = RunStatus.STARTING
    breaker_state: BreakerState = BreakerState.CLOSED
    breaker_since: datetime | None = None
    breaker_transitions: int = 0
    breaker_moves: dict[str, int] = Field(default_factory=dict)
    """Transitions by ``"<from>-><to>"`` (exported as a counter with from/to labels)."""
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    last_error_class: str | None = None
    polls: int = 0
    errors: int = 0
    received: int = 0
    stored: int = 0
    deduplicated: int = 0
    dead_lettered: int = 0
    unmatched: int = 0
    """Records a text source's pattern did not match (also counted as stored or DLQ)."""
    retries: int = 0
    dlq_size: int = 0
    next_poll_at: datetime | None = None
    updated_at: datetime | None = None
    warnings: tuple[str, ...] = ()
    """What the last committed poll skipped without failing (replaced by every poll),
    and the clock warning while there is one."""
    clock_skew_seconds: float | None = None
    """Median of received minus event time over the latest events (``None`` until
    enough arrived): about 0 for a live source with a right clock, negative for events
    from the future (a clock ahead), positive for late ones (see :func:`clock_warning`)."""


Listener = Callable[[ConnectorHealth], None]


class HealthRegistry:
    """Thread-safe per-connector health, updated by the supervisor."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._lock = threading.Lock()
        self._items: dict[Key, ConnectorHealth] = {}
        self._home: dict[str, int] = {}
        """The tenant a name alone means: where it was first registered (or assigned)."""
        self._clock = clock
        self._listeners: list[Listener] = []
        self._gaps: dict[Key, deque[tuple[datetime, datetime]]] = {}

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with the new value after every change (from the writer's thread)."""
        self._listeners.append(listener)

    def _key(self, name: str, tenant: int | None) -> Key:
        return (self._home.get(name, DEFAULT_TENANT) if tenant is None else tenant, name)

    def register(self, name: str, kind: str, tenant: int | None = DEFAULT_TENANT) -> None:
        """Start tracking ``name`` in ``tenant`` (idempotent: counters survive a
        re-register)."""
        tenant = DEFAULT_TENANT if tenant is None else tenant
        with self._lock:
            self._home.setdefault(name, tenant)
            if (tenant, name) not in self._items:
                self._items[tenant, name] = ConnectorHealth(name=name, kind=kind,
                                                            updated_at=self._clock())

    def assign(self, name: str, tenant: int) -> None:
        """Move ``name``'s entry to ``tenant`` (a connector whose tenant's id was just
        found): from now on its name alone means that tenant."""
        with self._lock:
            old = self._key(name, None)
            self._home[name] = tenant
            if old[0] != tenant and old in self._items:
                self._items[tenant, name] = self._items.pop(old)
                if old in self._gaps:
                    self._gaps[tenant, name] = self._gaps.pop(old)

    def get(self, name: str, tenant: int | None = None) -> ConnectorHealth:
        """One connector's health; ``KeyError`` if it is not registered."""
        with self._lock:
            return self._items[self._key(name, tenant)]

    def snapshot(self, tenant: int | None = None) -> dict[str, ConnectorHealth]:
        """The health of ``tenant``'s connectors by name (a copy: safe to keep);
        ``None``: the default tenant's."""
        wanted = DEFAULT_TENANT if tenant is None else tenant
        with self._lock:
            return {name: h for (owner, name), h in self._items.items() if owner == wanted}

    def update(self, name: str, tenant: int | None = None, **changes: Any) -> ConnectorHealth:
        """Replace fields of ``name``'s health; returns the new value."""
        return self._apply(name, tenant, lambda h: changes)

    def _apply(self, name: str, tenant: int | None,
               change: Callable[[ConnectorHealth], dict[str, Any]]) -> ConnectorHealth:
        with self._lock:
            key = self._key(name, tenant)
            current = self._items[key]
            new = current.model_copy(update={**change(current), "updated_at": self._clock()})
            self._items[key] = new
        for listener in list(self._listeners):
            listener(new)
        return new

    # -- what the supervisor reports ----------------------------------------------
    def set_status(self, name: str, status: RunStatus, tenant: int | None = None) -> None:
        """The runner moved to ``status``."""
        self.update(name, tenant, status=status)

    def record_batch(self, name: str, received: int, result: IngestResult,
                     dlq_size: int | None = None, warnings: Sequence[str] = (),
                     unmatched: int = 0, times: Sequence[datetime] = (),
                     skew_warn: timedelta | None = SKEW_WARN, tenant: int | None = None
                     ) -> ConnectorHealth:
        """A poll committed: bump the counters; a success clears ``failing``;
        ``warnings`` (what it skipped) replace the previous poll's. ``times``: the
        batch's event times, received now -- the clock skew is judged over the latest
        :data:`SKEW_WINDOW` of them (``skew_warn`` ``None``: never warn)."""
        now = self._clock()
        skew = self._skew(self._key(name, tenant), times, now)
        clock = clock_warning(skew, skew_warn) if skew_warn is not None else None
        kept = ((clock,) if clock else ()) + tuple(w[:500] for w in warnings[:MAX_WARNINGS])

        def change(h: ConnectorHealth) -> dict[str, Any]:
            status = RunStatus.RUNNING if h.status is RunStatus.FAILING else h.status
            return {"polls": h.polls + 1, "received": h.received + received,
                    "stored": h.stored + result.stored,
                    "deduplicated": h.deduplicated + result.deduplicated,
                    "dead_lettered": h.dead_lettered + result.dead_lettered,
                    "unmatched": h.unmatched + unmatched,
                    "last_success_at": now, "status": status, "warnings": kept,
                    "dlq_size": h.dlq_size if dlq_size is None else dlq_size,
                    "clock_skew_seconds": round(skew.seconds, 3) if skew else None}

        return self._apply(name, tenant, change)

    def _skew(self, key: Key, times: Sequence[datetime], now: datetime) -> Skew | None:
        with self._lock:
            window = self._gaps.setdefault(key, deque(maxlen=SKEW_WINDOW))
            window.extend((t, now) for t in times[-SKEW_WINDOW:])
            pairs = list(window)
        return skew_of(pairs) if len(pairs) >= SKEW_MIN_EVENTS else None

    def record_error(self, name: str, error: BaseException) -> ConnectorHealth:
        """A poll failed for good (after retries): mark the connector failing."""
        now = self._clock()

        def change(h: ConnectorHealth) -> dict[str, Any]:
            status = h.status if h.status is RunStatus.PAUSED else RunStatus.FAILING
            return {"polls": h.polls + 1, "errors": h.errors + 1, "last_error_at": now,
                    "last_error": str(error)[:1000] or type(error).__name__,
                    "last_error_class": type(error).__name__, "status": status}

        return self._apply(name, None, change)

    def record_retry(self, name: str) -> None:
        """One retry attempt of a poll."""
        self._apply(name, None, lambda h: {"retries": h.retries + 1})

    def record_transition(self, name: str, transition: Transition) -> None:
        """The connector's breaker changed state."""
        self._apply(name, None, lambda h: {"breaker_state": transition.target,
                                     "breaker_since": self._clock(),
                                     "breaker_transitions": h.breaker_transitions + 1,
                                     "breaker_moves": _moved(h.breaker_moves, transition)})


def clock_warning(skew: Skew | None, threshold: timedelta) -> str | None:
    """A health warning when a source's clock looks off by more than ``threshold``.

    Events stamped after they arrived (the median gap negative beyond the threshold)
    come from a clock ahead: a right clock cannot do that, whatever the delivery. Events
    that arrive late are a clock behind only when they are *consistently* late (the
    interquartile range of the gaps within a quarter of the threshold): a backlog read
    at once, or history such as old commits, spreads widely and is no sign of a clock.
    The warning says which ``clock_offset_seconds`` would correct it."""
    if skew is None:
        return None
    limit = threshold.total_seconds()
    off = skew.seconds
    if off < -limit:
        return (f"clock ahead: events are stamped {_span(-off)} after they arrive (median "
                f"of {skew.count}); clock_offset_seconds = {-round(-off)} corrects it")
    if off > limit and skew.spread <= limit / 4:
        return (f"clock behind or delivery delayed: events arrive {_span(off)} after their "
                f"time, consistently (median of {skew.count}, spread {_span(skew.spread)}); "
                f"clock_offset_seconds = {round(off)} corrects a slow clock")
    return None


def _span(seconds: float) -> str:
    s = int(abs(seconds))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _moved(moves: dict[str, int], transition: Transition) -> dict[str, int]:
    key = f"{transition.source.value}->{transition.target.value}"
    return {**moves, key: moves.get(key, 0) + 1}
