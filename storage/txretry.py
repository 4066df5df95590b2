"""Bounded retries of a whole transaction after a serialisation failure or deadlock.

PostgreSQL may abort a transaction that did nothing wrong: a deadlock victim
(SQLSTATE 40P01) or a serialisation failure (40001). The remedy is to run the
whole unit of work again; after ``attempts`` tries the error is raised as
:class:`RetriesExhaustedError` so the caller reports it (a failed poll in the
health table, a 503 to a sender, a logged grouping failure): never dropped.
A unique violation (23505) is retried only where the caller says a second run
resolves it (the grouper re-reads what the other transaction committed).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")
log = logging.getLogger(__name__)

TRANSIENT = frozenset({"40001", "40P01"})
"""Serialisation failure, deadlock detected."""
UNIQUE_VIOLATION = "23505"


class RetriesExhaustedError(RuntimeError):
    """A transaction kept failing with a retryable error; ``__cause__`` is the last one."""


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (PostgreSQL), else ``None``."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def run_retrying(work: Callable[[], T], *, attempts: int = 5,
                 retry_on: Collection[str] = TRANSIENT,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``work`` (which opens and commits its own transaction), retrying transient aborts."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            state = sqlstate(exc)
            if state not in retry_on:
                raise
            if attempt == attempts:
                raise RetriesExhaustedError(
                    f"transaction failed {attempts} times (SQLSTATE {state})") from exc
            log.info("transaction aborted (SQLSTATE %s), retry %d of %d", state, attempt,
                     attempts - 1)
            sleep(random.uniform(0, 0.01 * 2 ** attempt))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")
