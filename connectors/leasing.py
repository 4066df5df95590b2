"""The lease keeper: this instance's side of ``storage.leases``.

One keeper per process claims and renews the leases of the jobs it could run
(every enabled connector's poll loop, the grouper) every ``renew_seconds`` in one
small transaction off the event loop. Jobs ask :meth:`LeaseKeeper.grant` before
each unit of work and pass the grant to their commit, which re-checks it under a
row lock (:func:`storage.leases.fence`).

Timing: a lease lasts ``ttl_seconds`` from its last renewal. An instance that dies
stops renewing, so another takes a job over at most ``ttl + renew`` seconds later
(its next claim after the expiry) and resumes from the stored cursor. This
instance stops trusting a lease it could not renew ``renew`` seconds before the
store would expire it, so it stops working before anyone else may start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from storage import Store
from storage.leases import Grant, Holder, claim, drop_stale, next_expiry, release

log = logging.getLogger(__name__)


CONNECTOR_PREFIX = "connector:"


def lease_name(connector: str) -> str:
    """The lease a connector's poll loop runs under."""
    return CONNECTOR_PREFIX + connector


class LeaseSettings(BaseModel):
    """The ``[leases]`` table: how jobs are shared between instances on one store."""

    model_config = ConfigDict(extra="forbid")

    ttl_seconds: float = Field(default=15.0, gt=0)
    """A job whose holder stopped renewing is free this long after the last renewal."""
    renew_seconds: float | None = Field(default=None, gt=0)
    """How often leases are renewed and free ones claimed (default: a third of the TTL)."""
    instance: str | None = Field(default=None, min_length=1, max_length=256)
    """This instance's name in health and ``workbench connectors`` (default: the host
    name). A restarted instance takes over its crashed predecessor's leases at once
    when both have the same name and the old process is gone from this host."""

    def renew(self) -> float:
        """The renewal period in seconds."""
        return self.renew_seconds if self.renew_seconds is not None else self.ttl_seconds / 3


class LeaseKeeper:
    """Claims, renews and releases this instance's leases; thread-safe reads."""

    def __init__(self, store: Store, settings: LeaseSettings | None = None, *,
                 holder: Holder | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.settings = settings or LeaseSettings()
        self.holder = holder or Holder.this_process(self.settings.instance)
        self._clock = clock
        self._lock = threading.Lock()
        self._wanted: list[str] = []
        self._tenants: dict[str, int] = {}
        self._grants: dict[str, tuple[Grant, float]] = {}
        self._changed = asyncio.Event()
        self._next_claim = 0.0

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.ttl_seconds)

    def want(self, names: Iterable[str], tenants: Mapping[str, int] | None = None) -> None:
        """Compete for these jobs from the next renewal on (``tenants``: the tenant of a
        job's work by name, stored on its lease row; other jobs are the deployment's)."""
        with self._lock:
            self._wanted = sorted(set(self._wanted) | set(names))
            self._tenants.update(tenants or {})

    def grant(self, name: str) -> Grant | None:
        """The grant to work under for ``name`` now, or ``None`` if not ours."""
        with self._lock:
            held = self._grants.get(name)
        if held is None or held[1] <= self._clock():
            return None
        return held[0]

    def held(self) -> list[str]:
        """Names of the jobs this instance holds now."""
        return [n for n in list(self._grants) if self.grant(n) is not None]

    def drop_unconfigured(self, connectors: Iterable[str]) -> list[str]:
        """Forget the expired lease rows of connectors other than ``connectors`` (the
        ones this config runs); blocking. Live leases of other instances stay."""
        keep = [lease_name(name) for name in connectors]
        with self.store.write() as session:
            dropped = drop_stale(session=session, prefix=CONNECTOR_PREFIX, keep=keep)
        for name in dropped:
            log.info("lease row %s dropped: expired, and no such connector here", name)
        return dropped

    def renew_now(self) -> dict[str, Grant]:
        """Claim free jobs and renew ours (blocking: one write transaction)."""
        with self._lock:
            wanted, tenants = list(self._wanted), dict(self._tenants)
        started = self._clock()
        with self.store.write() as session:
            grants = claim(session=session, names=wanted, holder=self.holder, ttl=self.ttl,
                           tenants=tenants)
            others = next_expiry(session=session, holder=self.holder,
                                 names=[n for n in wanted if n not in grants])
        self._next_claim = started + min(self.settings.renew(),
                                         others + 0.05 if others is not None else float("inf"))
        trusted_until = started + self.settings.ttl_seconds - self.settings.renew()
        with self._lock:
            before = {n for n, (_, until) in self._grants.items() if until > started}
            for name in wanted:
                if name in grants:
                    self._grants[name] = (grants[name], trusted_until)
                # A job missing from the claim is either someone else's now, or ours and
                # row-locked by our own commit (which renews it): keep what we knew.
            now_held = {n for n, (_, until) in self._grants.items() if until > self._clock()}
        for name in sorted(now_held - before):
            log.info("lease %s taken by %s (pid %s)", name, self.holder.host, self.holder.pid)
        return grants

    def now(self) -> float:
        """The keeper's clock (pass it to :meth:`renewed`)."""
        return self._clock()

    def renewed(self, grant: Grant, started: float) -> None:
        """A commit that began at ``started`` renewed ``grant`` under its row lock."""
        with self._lock:
            held = self._grants.get(grant.name)
            if held is not None and held[0] == grant:
                until = started + self.settings.ttl_seconds - self.settings.renew()
                self._grants[grant.name] = (grant, max(held[1], until))

    def forget(self, name: str) -> None:
        """Stop trusting ``name`` (its commit found the lease gone)."""
        with self._lock:
            self._grants.pop(name, None)

    async def changed(self, seconds: float) -> None:
        """Wait until the next renewal has finished (at most ``seconds``); call on the loop."""
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()

    async def claim_now(self, names: Iterable[str],
                        tenants: Mapping[str, int] | None = None) -> None:
        """Want ``names`` and claim them at once (not at the next renewal)."""
        self.want(names, tenants)
        try:
            await asyncio.to_thread(self.renew_now)
        except Exception as exc:
            log.warning("lease claim failed: %s: %s", type(exc).__name__, exc)
        self._signal()

    def _signal(self) -> None:
        # Each renewal sets the event waiters hold and hands out a fresh one, so no
        # waiter can miss a renewal by clearing the flag another waiter set.
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Renew until ``stop`` is set, then release what we hold."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.renew_now)
            except Exception as exc:  # the store is down: leases lapse on their own
                log.warning("lease renewal failed: %s: %s", type(exc).__name__,
                            str(exc).splitlines()[0][:300] if str(exc) else "")
                self._next_claim = self._clock() + self.settings.renew()
            self._signal()
            # Renew every period, or sooner when another instance's lease is about
            # to expire (a dead holder's jobs are taken over right at expiry).
            wait = max(0.01, min(self.settings.renew(), self._next_claim - self._clock()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await stop.wait()
        await asyncio.to_thread(self.release_all)

    def release_all(self) -> None:
        """Give up every lease (a clean stop hands the jobs over at once)."""
        with self._lock:
            names = list(self._grants)
            self._grants.clear()
        try:
            with self.store.write() as session:
                release(session=session, names=names, holder=self.holder)
        except Exception:
            log.warning("could not release leases; they expire in %ss",
                        self.settings.ttl_seconds, exc_info=True)
