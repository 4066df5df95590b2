"""The SQLite planner statistics the store ships for its ``event`` table.

Without statistics, SQLite assumes that an equality on an index's first column narrows
a table to about ten rows. Every event query carries ``tenant_id = ?`` (the storage
layer adds it), and ``ix_event_time`` leads with ``tenant_id``, so the planner took that
index, with its free ORDER BY, over ``ix_event_trace``, ``ix_event_commit`` and
``ix_event_service_time``, and walked every event of the tenant to find one trace:
31 ms instead of 0.05 ms at 100k events.

``ANALYZE`` on the live store would tell the planner that ``tenant_id`` is not
selective, but a new or young store has nothing to describe yet, and statistics that
move with the data make plans change under users. So the store does what SQLite's
query planner checklist advises: it ships the ``sqlite_stat1`` rows of ``ANALYZE`` run
on a representative database, the benchmark store of 100k events
(``python -m benchmarks.planner_stats`` prints them again), and
:func:`ensure` writes them whenever the store's rows for ``event`` differ, at every
writable open. Only the ``event`` table's rows are shipped: it is the table whose
shape the benchmark store represents, and the other tables keep SQLite's defaults.
PostgreSQL gathers its own statistics (autovacuum), so this is SQLite's alone.
"""

from __future__ import annotations

from sqlalchemy import Connection

TABLE = "event"

EVENT_STATS: dict[str, str] = {
    # index name: its sqlite_stat1 ``stat`` (rows in the index, then the average number
    # of rows per distinct value of each leading prefix of its columns)
    "ix_event_change_time": "14909 14909 1 1",
    "ix_event_commit": "6887 1",
    "ix_event_service_time": "100000 100000 2500 1 1",
    "ix_event_source_time": "100000 100000 16667 1",
    "ix_event_time": "100000 100000 1 1",
    "ix_event_time_cover": "100000 100000 1 1 1 1",
    "ix_event_trace": "15154 1",
    "sqlite_autoindex_event_1": "100000 100000 16667 1",
}


def stored(conn: Connection) -> dict[str, str]:
    """The ``event`` table's rows in ``sqlite_stat1`` (none before the first ANALYZE)."""
    if not conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first():
        return {}
    rows = conn.exec_driver_sql(
        "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = ?", (TABLE,)).all()
    return {str(idx): str(stat) for idx, stat in rows}


def ensure(conn: Connection) -> bool:
    """Write the shipped statistics if the store's differ; True if anything was written.

    Runs inside the caller's write transaction. ``ANALYZE sqlite_schema`` creates
    ``sqlite_stat1`` without reading any table and makes this connection reload the
    statistics; connections opened later read them as they load the schema.
    """
    if stored(conn) == EVENT_STATS:
        return False
    conn.exec_driver_sql("ANALYZE sqlite_schema")
    conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = ?", (TABLE,))
    conn.exec_driver_sql(
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)",
        [(TABLE, idx, stat) for idx, stat in EVENT_STATS.items()])
    conn.exec_driver_sql("ANALYZE sqlite_schema")
    return True
