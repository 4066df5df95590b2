"""Mining log patterns from stored log events, a batch at a time from a cursor.

Like the grouper, the miner walks the event table in id order from its own cursor
(:data:`CURSOR_NAME`), so it is decoupled from every ingest path and never slows a
connector down; a batch's patterns, assignments and cursor commit together. Each
service has its own :class:`~workbench.patterns.drain.Drain` (the same words in two
services are two patterns), rebuilt from the stored patterns the first time the
process sees that service. A failed batch drops the in-memory miners, which are then
rebuilt from what the store holds.

It runs in ``workbench serve`` and the TUI as the ``patterns`` service (under the
``patterns`` lease: one instance mines a shared store) and on demand as
``workbench patterns mine``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from connectors.leasing import LeaseKeeper
from storage import patterns
from storage.cursors import get_cursor, set_cursor
from storage.leases import Grant, fence
from storage.store import Store
from workbench.patterns.drain import Cluster, Drain

CURSOR_NAME = "patterns"
LEASE = "patterns"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MineResult:
    """What mining did: events examined, log lines mined, patterns created."""

    examined: int
    mined: int
    created: int


@dataclass
class _Touched:
    cluster: Cluster
    service: str | None
    new: bool
    first: datetime
    last: datetime


@dataclass
class Miners:
    """One Drain per service, kept between batches."""

    similarity: float = 0.5
    depth: int = 4
    by_service: dict[str | None, Drain] = field(default_factory=dict)

    def ensure(self, session: Session, services: set[str | None]) -> None:
        """Rebuild the miners of ``services`` this process has not seen yet."""
        missing = [s for s in services if s not in self.by_service]
        if not missing:
            return
        for service in missing:
            self.by_service[service] = Drain(depth=self.depth, similarity=self.similarity)
        for stored in patterns.load_clusters(session=session, services=missing):
            self.by_service[stored.service].restore(Cluster(
                stored.tokens, stored.route, id=stored.id, size=stored.size))


Line = tuple[int, str | None, str, datetime]
"""A log event as mining reads it: id, service, title, time."""


Members = list[tuple[int, Cluster]]
"""Each mined line's event id and the cluster it joined."""


def _file(miners: Miners, logs: list[Line]) -> tuple[list[_Touched], Members]:
    """Mine the lines in memory: the clusters touched (with the span of their lines here)
    and each line's cluster. No store access, so no lock is held meanwhile."""
    touched: dict[int, _Touched] = {}
    members: Members = []
    by_service = miners.by_service
    for event_id, service, title, at in logs:
        cluster, _ = by_service[service].add(title)
        seen = touched.get(id(cluster))
        if seen is None:
            touched[id(cluster)] = _Touched(cluster, service, cluster.size == 1, at, at)
        elif at < seen.first:
            seen.first = at
        elif at > seen.last:
            seen.last = at
        members.append((event_id, cluster))
    return list(touched.values()), members


def _store(session: Session, touched: list[_Touched], members: Members) -> int:
    """Write a mined batch: new patterns, changed ones, and the assignments."""
    new = [t for t in touched if t.new]
    ids = patterns.insert_patterns(session=session, changes=[_change(t) for t in new])
    for item, pattern_id in zip(new, ids, strict=True):
        item.cluster.id = pattern_id
    patterns.update_patterns(session=session,
                             changes=[_change(t) for t in touched if not t.new])
    patterns.assign(session=session, rows=[(event_id, c.id) for event_id, c in members])
    return len(new)


def _change(item: _Touched) -> patterns.PatternChange:
    return patterns.PatternChange(0 if item.new else item.cluster.id, item.service,
                                  item.cluster.template, item.cluster.route, item.cluster.size,
                                  item.first, item.last)


class MiningRaced(RuntimeError):
    """The cursor moved while a batch was mined: another miner ran without the lease."""


def mine_once(store: Store, miners: Miners, *, batch_size: int = 5_000,
              grant: Grant | None = None) -> MineResult:
    """Mine one batch of events stored since the last batch.

    The batch is read and mined outside any write transaction (mining is the costly
    part, and a write transaction would hold back every ingest meanwhile); its
    patterns, assignments and cursor then commit together, after checking that the
    cursor is still where the batch began.
    """
    try:
        with store.read() as session:
            after = int(get_cursor(session=session, connector=CURSOR_NAME) or 0)
            last, logs = patterns.log_lines_after(session=session, after_id=after,
                                                  limit=batch_size)
            if last is None:
                return MineResult(0, 0, 0)
            miners.ensure(session, {service for _, service, _, _ in logs})
        touched, members = _file(miners, logs)
        with store.write() as session:
            if grant is not None:
                fence(session=session, grant=grant)
            if int(get_cursor(session=session, connector=CURSOR_NAME) or 0) != after:
                raise MiningRaced(f"the {CURSOR_NAME} cursor moved from {after}")
            created = _store(session, touched, members)
            set_cursor(session=session, connector=CURSOR_NAME, cursor=str(last))
        return MineResult(last - after, len(logs), created)
    except BaseException:
        miners.by_service.clear()  # the store has not got this batch: forget it here too
        raise


def mine_all(store: Store, miners: Miners | None = None, *,
             grant: Grant | None = None) -> MineResult:
    """Mine until every stored event has been examined."""
    miners = miners or Miners()
    total = MineResult(0, 0, 0)
    while (result := mine_once(store, miners, grant=grant)).examined:
        total = MineResult(total.examined + result.examined, total.mined + result.mined,
                           total.created + result.created)
    return total


async def run_mining(store: Store, stop: asyncio.Event, leases: LeaseKeeper | None,
                     interval: float) -> None:
    """Mine continuously until ``stop`` (under :data:`LEASE` when leases are kept)."""
    miners = Miners()
    if leases is not None:
        leases.want([LEASE])
    while not stop.is_set():
        grant = leases.grant(LEASE) if leases is not None else None
        if leases is None or grant is not None:
            try:
                await asyncio.to_thread(mine_all, store, miners, grant=grant)
            except Exception:  # best effort: the next round starts from the stored cursor
                log.exception("pattern mining failed; retrying in %ss", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
