"""Roll-ups: event counts per source, severity and service in fixed time buckets.

A 24-hour series over raw events buckets and groups every event of the window (58
ms at 1M events); the roll-up table keeps, per bucket width (a minute, an hour, a
day), dimension and key, how many events there are, so the same series sums a few
hundred rows. It is maintained in the transaction that changes events -- ingest
adds the new rows, retention subtracts what it deletes, a story rewrite moves its
row -- so it is exactly as durable as the events themselves: a crash anywhere
leaves both or neither (the kill tests compare it with a GROUP BY over events).

What a bucket and a key mean is defined once here: :func:`epoch_seconds` (the raw
series uses it too) and :data:`DIMENSIONS`. Every change is one set-based statement
(:func:`apply`) over the affected event rows, the same one the migration's backfill
runs over all of them (:func:`rebuild`).

Reading (:func:`counts`, :func:`series`) cuts the window into pieces: whole days,
then whole hours, then whole minutes from the roll-up, and the sub-minute edges
from the events themselves (through the raw path the caller passes in). A series
uses a width only if its buckets are whole multiples of it.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    bindparam,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from storage import dialects
from storage.models import Severity
from storage.queries import EventQuery
from storage.tables import EventRollupRow, EventRow
from storage.visibility import tenant_param, tenant_values

WIDTHS = (86_400, 3_600, 60)
"""Bucket widths kept, widest first (each divides the one before)."""
Dimension = Literal["source", "severity", "service"]
DIMENSIONS: tuple[Dimension, ...] = ("source", "severity", "service")
"""What the roll-up counts by; ``service`` NULL counts under ``""`` (as the raw counts label it)."""
_WINDOW_ONLY = {"start", "end"}
RawCounts = Callable[[EventQuery], dict[Any, int]]
"""Raw counts for a sub-window: ``{key: n}`` or ``{(bucket, key): n}``."""


def epoch_seconds(dialect: str) -> ColumnElement[Any]:
    """``occurred_at`` as whole seconds since the epoch (UTC), on either engine."""
    # 64-bit: a 32-bit cast fails for any time after 2038-01-19 on PostgreSQL.
    if dialect == "sqlite":
        return cast(func.strftime("%s", EventRow.occurred_at), BigInteger)
    return cast(func.floor(func.extract("epoch", EventRow.occurred_at)), BigInteger)


def _key(dimension: str) -> ColumnElement[Any]:
    return func.coalesce(cast(getattr(EventRow, dimension), String), "")


def apply(conn: Connection, ids: range | Sequence[int], sign: int) -> None:
    """Add (``sign`` 1) or subtract (-1) the events with these ids to the roll-up.

    ``ids`` is a range (a batch just inserted) or a list of ids.
    """
    if not ids:
        return
    dialect = conn.dialect.name
    if isinstance(ids, range):
        params: dict[str, Any] = {"lo": ids.start, "hi": ids.stop}
    else:
        params = {"ids": list(ids)}
    result = conn.execute(_upsert(dialect, sign, isinstance(ids, range)), params)
    if sign < 0:
        # Emptied buckets go, or purged history would leave zero rows forever: the
        # rows this subtraction brought to 0 (the upsert returns what it touched),
        # each deleted by its key. A delete of every ``n = 0`` row instead walked the
        # whole roll-up on every call -- 52 ms of each retention batch's ~60 ms write
        # lock at 1M events (benchmarks/bench_retention.py), and of a story rewrite.
        emptied = [{f"p_{name}": value for name, value in row._mapping.items()}
                   for row in result if row.n == 0]
        if emptied:
            conn.execute(_PRUNE, emptied)


@functools.cache
def _upsert(dialect: str, sign: int, by_range: bool) -> Any:
    """The statement, built once per form: building it cost more than running it."""
    where = EventRow.id.between(bindparam("lo"), bindparam("hi") - 1) if by_range \
        else EventRow.id.in_(bindparam("ids", expanding=True))
    # The events are read, and their time parsed, once (a materialised CTE), then
    # grouped for every width and dimension, in one statement.
    # Per tenant: each event counts in its own tenant's buckets (the ids may be of any
    # tenant only in the migration's rebuild; the runtime passes its own tenant's).
    events = select(EventRow.tenant_id, epoch_seconds(dialect).label("t"),
                    *(_key(dim).label(dim) for dim in DIMENSIONS)).where(where) \
        .cte("changed").prefix_with("MATERIALIZED")
    parts = [select(events.c.tenant_id, literal(width), literal(dim),
                    (events.c.t // width).label("bucket"),
                    events.c[dim].label("key"), literal(sign) * func.count())
             .where(true()).group_by(literal_column("1"), literal_column("4"),
                                     literal_column("5"))
             for width in WIDTHS for dim in DIMENSIONS]
    insert = dialects.module(dialect).insert(EventRollupRow)
    table = EventRollupRow.__table__
    stmt = insert.from_select(["tenant_id", "width", "dim", "bucket", "key", "n"],
                              union_all(*parts))
    upsert = stmt.on_conflict_do_update(index_elements=list(_KEY),
                                        set_={"n": table.c.n + stmt.excluded.n})
    if sign < 0:  # what it touched, for the prune of emptied buckets (:func:`apply`)
        return upsert.returning(*(table.c[name] for name in _KEY), table.c.n)
    return upsert


_KEY = ("tenant_id", "width", "dim", "bucket", "key")
"""The roll-up's primary key."""
_PRUNE = delete(EventRollupRow).where(
    *(EventRollupRow.__table__.c[name] == bindparam(f"p_{name}") for name in _KEY),
    EventRollupRow.n == 0)
"""One emptied row, by its key (the tenant is the row's own, returned by the upsert)."""


def rebuild(conn: Connection) -> None:
    """Recount everything from the events (the migration's backfill)."""
    conn.execute(delete(EventRollupRow))
    top = conn.execute(select(func.max(EventRow.id))).scalar() or 0
    apply(conn, range(0, top + 1), 1)


def serves(query: EventQuery | None, by: str) -> bool:
    """Whether the roll-up answers ``query`` counted ``by``: a window and no other filter."""
    if by not in DIMENSIONS or query is None or query.start is None or query.end is None:
        return False
    used = set(query.model_dump(exclude_defaults=True, exclude={"order", "limit", "cursor"}))
    return used <= _WINDOW_ONLY


_R = EventRollupRow
_PIECE = (tenant_param(_R), _R.width == bindparam("w"), _R.dim == bindparam("d"),
          _R.bucket >= bindparam("lo"), _R.bucket < bindparam("hi"))
# Built once: a statement built per call costs more than running it.
_COUNTS = select(_R.key, func.sum(_R.n)).where(*_PIECE).group_by(_R.key)
_SERIES = (select((_R.bucket // bindparam("per", type_=BigInteger)).label("b"), _R.key,
                  func.sum(_R.n)).where(*_PIECE).group_by(literal_column("1"), _R.key))


def counts(session: Session, by: str, query: EventQuery, raw: RawCounts) -> dict[str, int]:
    """Events per ``by`` value in the query's window (see :func:`serves`)."""
    total: dict[str, int] = defaultdict(int)
    conn = session.connection()
    for width, start, end in _pieces(_window(query), WIDTHS):
        if width is None:
            found = raw(EventQuery(start=start, end=end))
        else:
            rows = conn.execute(_COUNTS, _range(width, by, start, end))
            found = {label(by, k): int(n) for k, n in rows}
        for key, n in found.items():
            total[key] += n
    return {k: n for k, n in total.items() if n}


def series(session: Session, by: str, bucket_seconds: int, query: EventQuery,
           raw: RawCounts) -> list[tuple[datetime, str, int]]:
    """``(bucket start, key, count)`` in ``bucket_seconds`` buckets, by start then key."""
    total: dict[tuple[datetime, str], int] = defaultdict(int)
    widths = tuple(w for w in WIDTHS if bucket_seconds % w == 0)
    conn = session.connection()
    for width, start, end in _pieces(_window(query), widths):
        if width is None:
            found = raw(EventQuery(start=start, end=end))
        else:
            rows = conn.execute(_SERIES, {**_range(width, by, start, end),
                                          "per": bucket_seconds // width})
            found = {(_start(int(b) * bucket_seconds), label(by, k)): int(n)
                     for b, k, n in rows}
        for key, n in found.items():
            total[key] += n
    return [(at, key, n) for (at, key), n in sorted(total.items()) if n]


def label(by: str, key: Any) -> str:
    """A stored key as counts show it (a severity's name, ``""`` for no service)."""
    if by == "severity":
        return Severity.from_rank(int(key)).value
    return "" if key is None else str(key)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
Piece = tuple[int | None, datetime, datetime]


def _window(query: EventQuery) -> tuple[datetime, datetime]:
    assert query.start is not None and query.end is not None  # checked by serves()
    return query.start, query.end


def _pieces(window: tuple[datetime, datetime], widths: tuple[int, ...]) -> list[Piece]:
    """``window`` as whole buckets of the widest width that fits, the rest narrower;
    ``None`` for what no width covers."""
    start, end = window
    if start >= end:
        return []
    if not widths:
        return [(None, start, end)]
    width = widths[0]
    step = width * 1_000_000
    first = -(-((start - EPOCH) // _US) // step) * step  # round up, in microseconds
    last = ((end - EPOCH) // _US) // step * step           # round down
    if first >= last:
        return _pieces(window, widths[1:])
    inner = (EPOCH + first * _US, EPOCH + last * _US)
    return [*_pieces((start, inner[0]), widths[1:]), (width, *inner),
            *_pieces((inner[1], end), widths[1:])]


def _range(width: int, by: str, start: datetime, end: datetime) -> dict[str, Any]:
    lo, hi = (int((t - EPOCH) // timedelta(seconds=width)) for t in (start, end))
    return {"w": width, "d": by, "lo": lo, "hi": hi, **tenant_values()}


def _start(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
