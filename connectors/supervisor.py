"""The supervisor: every configured connector as its own task on the running loop.

Each runner loops: wait while paused, poll (retries around the breaker, each
attempt under ``timeout_seconds``), commit the batch through the one ingest path
in a worker thread, then arm the next poll ``interval_seconds`` (± jitter) after
this one *finished* — immediately if the source said it is not caught up. A
connector that fails or hangs only ever delays itself.

Shutdown cancels runners that are polling or sleeping (an uncommitted poll has no
effect: its cursor was never stored) but lets a commit that has started finish,
so an in-flight batch is stored whole or not at all. Nothing here touches SQL on
the loop; everything store-side is in :mod:`connectors.commit` via ``to_thread``.

With a :class:`~connectors.leasing.LeaseKeeper` (several instances on one store),
a runner polls only while this instance holds its connector's lease, commits
under that lease (the commit re-checks it under a row lock), and reloads the
stored cursor whenever it starts a new tenure, since another instance may have
moved it. Without the lease it waits in ``standby`` and persists no health (the
holder's snapshot is the one to show).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from tenacity import RetryCallState

from connectors import tracing
from connectors.base import Batch, Connector, ConnectorConfig
from connectors.breaker import CircuitBreaker, CircuitOpenError
from connectors.commit import Committed, commit_batch, load_cursor, save_health
from connectors.errors import PoisonRecordError, SourceTimeoutError
from connectors.health import UNASSIGNED, HealthRegistry, RunStatus
from connectors.leasing import LeaseKeeper, lease_name
from connectors.retry import Sleep, call_with_retry
from storage import NotFoundError, Store, tenants, visibility
from storage.leases import Grant, LeaseLostError
from storage.models import NewDeadLetter, utcnow

log = logging.getLogger(__name__)

HEALTH_PERSIST_SECONDS = 2.0
"""Successful polls persist health at most this often (errors and stops always do)."""


@dataclass(slots=True)
class Runner:
    """One connector, its config, breaker and task."""

    connector: Connector
    config: ConnectorConfig
    breaker: CircuitBreaker
    cursor: str | None = None
    cursor_loaded: bool = False
    task: asyncio.Task[None] | None = None
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    committing: bool = False
    polling: bool = False
    health_saved: float = float("-inf")
    grant: Grant | None = None
    """The lease this runner works under (``None`` without a lease keeper)."""
    tenant_id: int | None = None
    """Its configured tenant's id, once its task has entered it (``None``: default)."""

    @property
    def name(self) -> str:
        return self.connector.name


@dataclass(slots=True)
class SyncSummary:
    """What ``sync`` did for one connector."""

    name: str
    received: int = 0
    stored: int = 0
    deduplicated: int = 0
    dead_lettered: int = 0
    errors: int = 0
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


class Supervisor:
    """Runs connectors on the current event loop and writes through ``store``."""

    def __init__(self, store: Store, connectors: Sequence[tuple[Connector, ConnectorConfig]],
                 *, health: HealthRegistry | None = None, jitter: float = 0.1,
                 sleep: Sleep = asyncio.sleep, rng: random.Random | None = None,
                 breaker_clock: Callable[[], float] | None = None,
                 persist_health: bool = True, leases: LeaseKeeper | None = None) -> None:
        self.store = store
        self.leases = leases
        self.health = health or HealthRegistry()
        self.jitter = jitter
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._persist = persist_health
        self.runners: dict[str, Runner] = {}
        for connector, config in connectors:
            self._add(connector, config, breaker_clock)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def _add(self, connector: Connector, config: ConnectorConfig,
             clock: Callable[[], float] | None) -> None:
        if connector.name in self.runners:
            raise ValueError(f"two connectors are named {connector.name!r}")
        breaker = CircuitBreaker(connector.name, config.breaker, clock=clock or time.monotonic)
        runner = Runner(connector, config, breaker)
        runner.resumed.set()
        self.runners[connector.name] = runner
        # A connector of a configured tenant is nobody's to see until its task has
        # found that tenant (``_enter_tenant``); the others are the default tenant's.
        self.health.register(connector.name, connector.kind,
                             visibility.DEFAULT_TENANT if config.tenant is None else UNASSIGNED)
        breaker.add_listener(partial(self.health.record_transition, connector.name))

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        """Start one task per enabled connector on the running loop."""
        self.loop = asyncio.get_running_loop()
        self._stopping = False
        if self.leases is not None:
            await self._drop_stale_leases()
            tenants = await asyncio.to_thread(self._lease_tenants)
            await self.leases.claim_now(
                [lease_name(r.name) for r in self.runners.values()
                 if r.config.enabled and (r.config.tenant is None or r.name in tenants)],
                {lease_name(name): tenant for name, tenant in tenants.items()})
        for runner in self.runners.values():
            if runner.config.enabled and runner.task is None:
                self.health.set_status(runner.name, RunStatus.RUNNING)
                runner.task = asyncio.create_task(self._run(runner), name=f"conn:{runner.name}")

    def _lease_tenants(self) -> dict[str, int]:
        """The tenant id of each enabled connector that names a tenant, for its lease row
        (a status list shows a lease to its tenant only). One whose tenant the store
        lacks is left out, and not claimed: its task cannot enter that tenant."""
        found: dict[str, int] = {}
        with self.store.read() as session:
            for runner in self.runners.values():
                if runner.config.enabled and runner.config.tenant is not None:
                    with contextlib.suppress(NotFoundError):
                        found[runner.name] = tenants.tenant_id_by_name(
                            session=session, name=runner.config.tenant)
        return found

    async def _drop_stale_leases(self) -> None:
        """Rows of connectors this config does not run, once expired, go at start."""
        assert self.leases is not None
        names = [r.name for r in self.runners.values() if r.config.enabled]
        try:
            await asyncio.to_thread(self.leases.drop_unconfigured, names)
        except Exception as exc:  # housekeeping: never a reason not to start
            log.warning("stale lease rows not dropped: %s: %s", type(exc).__name__, exc)

    async def stop(self) -> None:
        """Stop every runner; a commit in progress finishes first (whole or not at all)."""
        self._stopping = True
        tasks = [r.task for r in self.runners.values() if r.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for runner in self.runners.values():
            runner.task = None
            self.health.set_status(runner.name, RunStatus.STOPPED)
            await self._save_health(runner)
            await _close(runner.connector)

    async def __aenter__(self) -> Supervisor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- control (call on the loop; connectors.control does it from other threads) ----
    def pause(self, name: str) -> None:
        """Let the current poll finish, then poll no more until :meth:`resume`."""
        self.runners[name].resumed.clear()
        self.health.set_status(name, RunStatus.PAUSED)

    def resume(self, name: str) -> None:
        """Undo :meth:`pause` and poll now."""
        runner = self.runners[name]
        self.health.set_status(name, RunStatus.RUNNING)
        runner.resumed.set()
        runner.wake.set()

    def poll_now(self, name: str) -> None:
        """Cut the current wait short."""
        self.runners[name].wake.set()

    # -- one poll ------------------------------------------------------------------
    async def poll_once(self, runner: Runner) -> tuple[Batch, Committed]:
        """Poll with retries and the breaker, then commit; raises what the poll raised."""
        with tracing.poll_span(runner.name, runner.config.kind,
                               runner.breaker.state.value) as span:
            batch, committed = await self._poll_once(runner)
            tracing.record_result(span, committed.result)
            return batch, committed

    async def _poll_once(self, runner: Runner) -> tuple[Batch, Committed]:
        if not runner.cursor_loaded:
            runner.cursor, dlq_size = await asyncio.to_thread(load_cursor, self.store,
                                                              runner.name)
            self.health.update(runner.name, dlq_size=dlq_size)
            runner.cursor_loaded = True
        try:
            batch = await call_with_retry(
                lambda: self._attempt(runner), runner.config.retry, breaker=runner.breaker,
                sleep=self._sleep, on_retry=lambda state: self._retried(runner, state))
        except PoisonRecordError as exc:
            # The whole poll is blocked by one record: keep it in the DLQ (the same
            # payload again bumps the same entry) and report the connector failing;
            # the cursor stays, so nothing after it is skipped unseen.
            await self._commit(runner, Batch(dead_letters=[_letter(runner.name, exc)]))
            raise
        committed = await self._commit(runner, batch)
        if batch.cursor is not None:
            runner.cursor = batch.cursor
        return batch, committed

    def _retried(self, runner: Runner, state: RetryCallState) -> None:
        self.health.record_retry(runner.name)
        outcome = state.outcome
        tracing.retry_event(outcome.exception() if outcome is not None else None,
                            state.attempt_number, state.upcoming_sleep)

    async def _attempt(self, runner: Runner) -> Batch:
        timeout = runner.config.timeout_seconds
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that races with completion, and a runner that ignores stop() hangs shutdown.
            async with asyncio.timeout(timeout):
                return await runner.connector.poll(runner.cursor)
        except TimeoutError as exc:
            raise SourceTimeoutError(f"poll took longer than {timeout:g}s") from exc

    async def _commit(self, runner: Runner, batch: Batch) -> Committed:
        # Shielded: once the transaction has started, cancellation waits for it, so
        # shutdown never abandons a half-decided batch (SQLite would roll it back
        # anyway, but the cursor in memory must match what was stored).
        work = asyncio.ensure_future(asyncio.to_thread(commit_batch, self.store, runner.name,
                                                       batch, runner.grant))
        started = self.leases.now() if self.leases is not None else 0.0
        runner.committing = True
        try:
            committed = await asyncio.shield(work)
        except asyncio.CancelledError:
            await work
            raise
        finally:
            runner.committing = False
        if self.leases is not None and runner.grant is not None:
            self.leases.renewed(runner.grant, started)
        return committed

    async def _run_one(self, runner: Runner) -> bool:
        """One poll with its bookkeeping; returns whether the source has more right now."""
        try:
            batch, committed = await self.poll_once(runner)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(runner, exc)
            await self._save_health(runner)
            return False
        self._record(runner, batch, committed)
        if self._loop_time() - runner.health_saved >= HEALTH_PERSIST_SECONDS:
            await self._save_health(runner)
        return not batch.caught_up

    def _record(self, runner: Runner, batch: Batch, committed: Committed) -> None:
        """A committed poll in the health registry, with its event times (clock skew)."""
        warn = runner.config.clock_skew_warn_seconds
        self.health.record_batch(runner.name, batch.received_count, committed.result,
                                 committed.dlq_size, batch.warnings, batch.unmatched,
                                 times=[e.occurred_at for e in batch.events],
                                 skew_warn=timedelta(seconds=warn) if warn else None)

    def _failed(self, runner: Runner, exc: Exception) -> None:
        if isinstance(exc, LeaseLostError):
            log.info("connector %s: %s; standing by", runner.name, exc)
            if self.leases is not None:
                self.leases.forget(lease_name(runner.name))
            runner.grant = None
            self.health.set_status(runner.name, RunStatus.STANDBY)
            return
        if isinstance(exc, CircuitOpenError):
            log.info("connector %s skipped: %s", runner.name, exc)
        else:
            log.warning("connector %s poll failed: %s: %s", runner.name,
                        type(exc).__name__, exc, exc_info=not _expected(exc))
        self.health.record_error(runner.name, exc)

    # -- the loop ------------------------------------------------------------------
    async def _enter_tenant(self, runner: Runner) -> None:
        """Run the rest of ``runner``'s task in its configured tenant: every store call
        it makes (``to_thread`` copies the context) is scoped to that tenant."""
        name = runner.config.tenant
        if name is None:
            return
        found = await asyncio.to_thread(_tenant_id, self.store, name)
        runner.tenant_id = found
        self.health.assign(runner.name, found)
        visibility.set_current(visibility.in_tenant(found))

    async def _run(self, runner: Runner) -> None:
        await self._enter_tenant(runner)
        while not self._stopping:
            await runner.resumed.wait()
            if not await self._hold(runner):
                continue
            runner.wake.clear()
            runner.polling = True
            try:
                more = await self._run_one(runner)
            finally:
                runner.polling = False
            await self._wait(runner, 0.0 if more else self._delay(runner))

    async def _hold(self, runner: Runner) -> bool:
        """Whether this instance may poll ``runner`` now; waits a renewal if not."""
        if self.leases is None:
            return True
        grant = self.leases.grant(lease_name(runner.name))
        if grant is None:
            if runner.grant is not None or self.health.get(runner.name).status is not \
                    RunStatus.STANDBY:
                runner.grant = None
                self.health.set_status(runner.name, RunStatus.STANDBY)
            await self.leases.changed(self.leases.settings.renew())
            return False
        if runner.grant is None or grant.epoch != runner.grant.epoch:
            # A new tenure: another instance may have moved the cursor meanwhile.
            runner.cursor_loaded = False
            self.health.set_status(runner.name, RunStatus.RUNNING)
        runner.grant = grant
        return True

    def _delay(self, runner: Runner) -> float:
        base = runner.config.interval_seconds
        spread = self._rng.uniform(-self.jitter, self.jitter)
        wait = base * (1 + spread)
        retry_in = runner.breaker.retry_in()
        if retry_in is not None and retry_in > wait:
            wait = retry_in  # no point polling before the breaker admits a probe
        return wait

    async def _wait(self, runner: Runner, seconds: float) -> None:
        self.health.update(runner.name, next_poll_at=utcnow() + timedelta(seconds=seconds))
        if seconds <= 0:
            await asyncio.sleep(0)  # let others run between backlog batches
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await runner.wake.wait()

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    async def _save_health(self, runner: Runner) -> None:
        if not self._persist or (self.leases is not None and runner.grant is None):
            return  # the holder's snapshot is the one to show
        runner.health_saved = self._loop_time()
        snapshot = self.health.get(runner.name).model_dump(mode="json")
        # Also called outside the runner's task (sync's end, stop): enter its tenant.
        seen = visibility.current() if runner.tenant_id is None \
            else visibility.in_tenant(runner.tenant_id)
        try:
            with visibility.seeing(seen):
                await asyncio.to_thread(save_health, self.store, runner.name, snapshot)
        except Exception:  # health is advisory; the store being down is already reported
            log.debug("could not persist health of %s", runner.name, exc_info=True)

    # -- run until caught up (workbench sync) --------------------------------------
    async def sync(self, max_polls: int = 100_000) -> dict[str, SyncSummary]:
        """Poll every enabled connector until it has caught up once (concurrently)."""
        runners = [r for r in self.runners.values() if r.config.enabled]
        results = await asyncio.gather(*(self._sync_one(r, max_polls) for r in runners))
        for runner in runners:
            self.health.set_status(runner.name, RunStatus.STOPPED)
            await self._save_health(runner)
            await _close(runner.connector)
        return {s.name: s for s in results}

    async def _sync_one(self, runner: Runner, max_polls: int) -> SyncSummary:
        summary = SyncSummary(runner.name)
        self.health.set_status(runner.name, RunStatus.RUNNING)
        await self._enter_tenant(runner)
        for _ in range(max_polls):
            try:
                batch, committed = await self.poll_once(runner)
            except Exception as exc:
                self._failed(runner, exc)
                summary.errors += 1
                summary.error = f"{type(exc).__name__}: {exc}"
                return summary
            result = committed.result
            self._record(runner, batch, committed)
            summary.received += batch.received_count
            summary.stored += result.stored
            summary.deduplicated += result.deduplicated
            summary.dead_lettered += result.dead_lettered
            if batch.caught_up:
                return summary
        summary.error = f"not caught up after {max_polls} polls"
        return summary


def _tenant_id(store: Store, name: str) -> int:
    with store.read() as session:
        return tenants.tenant_id_by_name(session=session, name=name)


def _letter(connector: str, exc: PoisonRecordError) -> NewDeadLetter:
    return NewDeadLetter(connector=connector, payload=exc.payload,
                         error_class=exc.error_class[:256], message=str(exc)[:8000],
                         source_ref=exc.source_ref[:2048] if exc.source_ref else None)


def _expected(exc: Exception) -> bool:
    """Errors connectors raise on purpose are logged without a traceback; bugs with one."""
    from connectors.errors import ConnectorError

    return isinstance(exc, ConnectorError)


async def _close(connector: Connector) -> None:
    close = getattr(connector, "aclose", None)
    if close is None:
        return
    try:
        await close()
    except Exception:
        log.debug("closing %s failed", connector.name, exc_info=True)
