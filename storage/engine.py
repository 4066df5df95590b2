"""Engine setup for SQLite (default) and PostgreSQL, behind one code path.

SQLite gets WAL, a busy timeout and foreign keys on every connection. pysqlite's own
transaction handling is switched off so that we emit ``BEGIN`` ourselves: a write
transaction starts with ``BEGIN IMMEDIATE`` because a deferred transaction that reads
and then writes fails at once with "database is locked", whatever the busy timeout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

WRITE_OPTION = "workbench_write"
"""Execution option that marks a connection as a writer (BEGIN IMMEDIATE on SQLite)."""

BUSY_TIMEOUT_MS = 30_000
ENV_VAR = "WORKBENCH_DB"


class StoreConfigError(ValueError):
    """The store location is not a usable URL or path."""


def default_db_path() -> Path:
    """The embedded default store: ``workbench.db`` in the user's data directory."""
    return Path(platformdirs.user_data_dir("workbench", appauthor=False)) / "workbench.db"


def resolve_url(location: str | os.PathLike[str] | None = None) -> URL:
    """A URL for ``location``: a database URL, a file path, ``$WORKBENCH_DB``, or the default.

    ``postgresql://`` URLs are pointed at the psycopg 3 driver.
    """
    raw = os.fspath(location) if location is not None else os.environ.get(ENV_VAR) or ""
    if not raw:
        raw = os.fspath(default_db_path())
    if "://" not in raw:
        path = Path(raw).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return URL.create("sqlite+pysqlite", database=str(path.resolve()))
    try:
        url = make_url(raw)
    except Exception as exc:
        raise StoreConfigError(f"not a database URL: {raw!r} ({exc})") from exc
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreConfigError(f"unsupported database {url.get_backend_name()!r}: "
                               "use a file path or a postgresql:// URL")
    return url


def make_engine(location: str | os.PathLike[str] | URL | None = None, *,
                read_only: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for ``location`` with the workbench's connection settings.

    ``read_only``: the database itself refuses writes (SQLite ``mode=ro``, PostgreSQL
    ``default_transaction_read_only``), whatever the code above it tries.
    """
    url = location if isinstance(location, URL) else resolve_url(location)
    if url.get_backend_name() == "sqlite":
        args: dict[str, Any] = {"check_same_thread": False}
        if read_only:
            url = url.set(database=f"file:{url.database}?mode=ro", query={"uri": "true"})
        engine = create_engine(url, connect_args=args, **kwargs)
        _configure_sqlite(engine, read_only=read_only)
        return engine
    if read_only:
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}),
                                  "options": "-c default_transaction_read_only=on"}
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:  # switching the journal mode is a write
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: this runs for every unit of work, and going through
        # SQLAlchemy's statement execution cost more than the BEGIN itself.
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
