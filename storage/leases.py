"""Leases: which instance runs each background job on a shared store.

Several workbench instances may share one store; every background job (each
connector's poll loop, the grouper) must run in exactly one of them at a time.
A job is a row of ``job_lease``: the instance named in ``holder`` runs it until
``expires_at``, and renews it (a heartbeat) well before then.

Why a lease table with heartbeats and not PostgreSQL session advisory locks:

- **Fencing.** A job's commit renews its own lease row in the same transaction
  (:func:`fence`: ``UPDATE ... WHERE holder = me AND epoch = e AND expires_at > now``)
  and rolls back if that matched nothing. An instance that stalled (GC pause,
  suspended VM, partition that healed) and lost its lease therefore cannot commit a
  batch after another instance took over from the stored cursor: nothing twice.
  An advisory lock is held by one connection; a commit through another pooled
  connection would go through unchecked after the lock's session died.
- **Bounded takeover without TCP timing.** A dead instance (kill -9, network loss)
  stops renewing; its leases expire ``ttl`` after its last heartbeat. An advisory
  lock is freed at once after kill -9, but after a network loss only when the
  server notices the dead TCP connection (keepalive settings, minutes by default).
- **One mechanism on both engines.** SQLite has no advisory locks; the same table
  keeps two processes on one file from both polling.
- **Visible.** Holder host/pid, since when and the last heartbeat are plain rows
  that ``workbench connectors``, the API, the TUI and ``/metrics`` read.

Claims take rows with ``FOR UPDATE SKIP LOCKED`` in name order, so instances never
wait on each other's lease rows (a row locked by its holder's commit is simply
skipped) and never deadlock. Time is the database's clock on PostgreSQL (instance
clocks may disagree); on SQLite (one host) the local clock.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Interval, bindparam, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from storage import dialects
from storage.models import utcnow
from storage.tables import JobLeaseRow


class LeaseLostError(RuntimeError):
    """This instance no longer holds the lease it was about to commit under."""


@dataclass(frozen=True, slots=True)
class Holder:
    """One running instance: a fresh id per process, and where it runs."""

    id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls, host: str | None = None) -> Holder:
        """A holder for the current process (a restarted process is a new holder).

        ``host`` names the instance (default: the host name). Leases of dead processes
        are freed early only between holders of the same ``host``.
        """
        return cls(uuid.uuid4().hex, (host or socket.gethostname())[:256], os.getpid())


@dataclass(frozen=True, slots=True)
class Grant:
    """A lease this instance holds: ``epoch`` changes on every change of holder."""

    name: str
    holder: str
    epoch: int
    ttl: timedelta


class Lease(BaseModel):
    """One job's lease as stored."""

    model_config = ConfigDict(frozen=True)

    name: str
    holder: str | None
    host: str | None
    pid: int | None
    epoch: int
    acquired_at: datetime | None
    heartbeat_at: datetime | None
    expires_at: datetime | None
    tenant_id: int | None = None
    """The tenant of the job's work (a connector's); ``None``: the deployment's job."""

    def live(self, now: datetime) -> bool:
        """Whether some instance holds it at ``now``."""
        return self.expires_at is not None and self.expires_at > now


def db_now(session: Session) -> datetime:
    """The store's clock: the server's on PostgreSQL, this host's on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        assert isinstance(value, datetime)
        return value
    return utcnow()


def _ensure_rows(session: Session, names: Sequence[str], tenants: Mapping[str, int]) -> None:
    known = set(session.scalars(select(JobLeaseRow.name).where(JobLeaseRow.name.in_(names))))
    missing = sorted(set(names) - known)  # sorted: concurrent inserts lock in one order
    if not missing:
        return
    dialect = dialects.module(session)
    stmt = dialect.insert(JobLeaseRow).on_conflict_do_nothing(index_elements=["name"])
    session.execute(stmt, [{"name": n, "epoch": 0, "tenant_id": tenants.get(n)}
                           for n in missing])


def _dead_here(row: JobLeaseRow, holder: Holder) -> bool:
    """Held by a process on this host that no longer exists (crashed; restarted since)."""
    if row.holder == holder.id or row.host != holder.host or row.pid is None:
        return False
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def claim(*, session: Session, names: Sequence[str], holder: Holder,
          ttl: timedelta, tenants: Mapping[str, int] | None = None) -> dict[str, Grant]:
    """Take every free or expired lease among ``names`` and renew those already held.

    ``tenants`` names the tenant of a job's work (a connector's), stored on the rows
    this call takes or renews; a job missing from it is the deployment's.

    Returns the leases held after this call. A lease whose row another transaction
    has locked is skipped (not waited for): if it is ours, our commit is renewing it.
    A lease held by a process of this host that no longer exists is free at once (a
    crashed instance restarted on the same host resumes without waiting out the TTL).
    """
    if not names:
        return {}
    tenants = tenants or {}
    _ensure_rows(session, names, tenants)
    now = db_now(session)
    c = JobLeaseRow
    rows = session.scalars(
        select(c).where(c.name.in_(names),
                        or_(c.holder == holder.id, c.expires_at.is_(None), c.expires_at <= now,
                            c.host == holder.host))
        .order_by(c.name).with_for_update(skip_locked=True))
    grants: dict[str, Grant] = {}
    for row in rows:
        free = row.expires_at is None or row.expires_at <= now or _dead_here(row, holder)
        if row.holder != holder.id and not free:
            continue  # live, held by another process on this host
        if row.holder != holder.id or free:
            row.epoch += 1  # a new tenure: commits under the previous epoch are refused
            row.holder, row.host, row.pid, row.acquired_at = holder.id, holder.host, \
                holder.pid, now
        row.heartbeat_at, row.expires_at = now, now + ttl
        row.tenant_id = tenants.get(row.name)  # follows a connector moved to another tenant
        grants[row.name] = Grant(row.name, holder.id, row.epoch, ttl)
    session.flush()
    return grants


def next_expiry(*, session: Session, names: Sequence[str], holder: Holder) -> float | None:
    """Seconds until the soonest lease among ``names`` held by another instance expires.

    A standby instance claims again right then, so a takeover after a crash takes
    about one TTL instead of a TTL plus a renewal period.
    """
    if not names:
        return None
    c = JobLeaseRow
    soonest = session.scalar(select(func.min(c.expires_at)).where(
        c.name.in_(names), c.holder != holder.id, c.expires_at.is_not(None)))
    if soonest is None:
        return None
    return max(0.0, (soonest - db_now(session)).total_seconds())


_HELD = (select(JobLeaseRow.name)
         .where(JobLeaseRow.name == bindparam("n"), JobLeaseRow.holder == bindparam("h"),
                JobLeaseRow.epoch == bindparam("e"), JobLeaseRow.expires_at > bindparam("now")))
_FENCE_PG = (update(JobLeaseRow)
             .where(JobLeaseRow.name == bindparam("n"), JobLeaseRow.holder == bindparam("h"),
                    JobLeaseRow.epoch == bindparam("e"),
                    JobLeaseRow.expires_at > func.clock_timestamp())
             .values(heartbeat_at=func.clock_timestamp(),
                     expires_at=func.clock_timestamp() + bindparam("ttl", type_=Interval())))
"""Built once: they run in every leased commit, and building one cost more than
running it. On PostgreSQL the fence is this one statement on the server's clock (one
round trip per batch, not a clock read and then the update)."""


def fence(*, session: Session, grant: Grant) -> None:
    """Check (and on PostgreSQL renew) ``grant`` in the caller's write transaction.

    Raises :class:`LeaseLostError` if the lease is no longer ours. Call it first in a
    job's commit: on PostgreSQL the row lock it takes lasts until the commit, on
    SQLite the write transaction locks the file, so no other instance can take the
    lease over while this batch is being stored.
    """
    conn = session.connection()
    params: dict[str, object] = {"n": grant.name, "h": grant.holder, "e": grant.epoch}
    if conn.dialect.name == "sqlite":
        # BEGIN IMMEDIATE already holds the file's write lock until this commit: no
        # other process can take the lease meanwhile, so a read is fence enough (and
        # spares every batch a page write; the keeper renews).
        held = conn.execute(_HELD, {**params, "now": utcnow()}).first() is not None
    else:
        held = conn.execute(_FENCE_PG, {**params, "ttl": grant.ttl}).rowcount == 1
    if not held:
        raise LeaseLostError(f"lease {grant.name!r} (epoch {grant.epoch}) is no longer ours")


def release(*, session: Session, names: Sequence[str], holder: Holder) -> None:
    """Give up leases (on a clean stop) so another instance takes over at once."""
    if not names:
        return
    now = db_now(session)
    c = JobLeaseRow
    session.execute(update(c).where(c.name.in_(sorted(names)), c.holder == holder.id)
                    .values(expires_at=now))


def drop_stale(*, session: Session, prefix: str, keep: Sequence[str]) -> list[str]:
    """Delete the expired lease rows named ``prefix...`` that are not in ``keep``.

    A connector removed from the config leaves its row behind, and every instance
    would report it as held by nobody (an alert) for ever. Only rows whose lease has
    expired by the store's clock go: a row another live instance holds -- its config
    may still have that connector -- is never touched (a claim that renews it
    concurrently holds the row lock, and the delete re-checks the expiry after it).
    Returns the names dropped.
    """
    c = JobLeaseRow
    stmt = (delete(c).where(c.name.startswith(prefix, autoescape=True),
                            c.name.not_in(sorted(keep)),
                            or_(c.expires_at.is_(None), c.expires_at <= db_now(session)))
            .returning(c.name))
    return sorted(session.scalars(stmt))


def list_leases(*, session: Session) -> tuple[list[Lease], datetime]:
    """Every lease row, by name, and the store's current time to judge them by."""
    rows = session.scalars(select(JobLeaseRow).order_by(JobLeaseRow.name))
    leases = [Lease.model_validate(r, from_attributes=True) for r in rows]
    return leases, db_now(session)
