"""Engine setup for SQLite (default) and PostgreSQL, behind one code path.

SQLite gets WAL, a busy timeout and foreign keys on every connection. pysqlite's own
transaction handling is switched off so that we emit ``BEGIN`` ourselves: a write
transaction starts with ``BEGIN IMMEDIATE`` because a deferred transaction that reads
and then writes fails at once with "database is locked", whatever the busy timeout.
"""

from __future__ import annotations

import logging
import os
import shlex
import stat
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

WRITE_OPTION = "workbench_write"
"""Execution option that marks a connection as a writer (BEGIN IMMEDIATE on SQLite)."""

BUSY_TIMEOUT_MS = 30_000
ENV_VAR = "WORKBENCH_DB"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
STORE_SUFFIXES = ("", "-wal", "-shm", "-journal")
log = logging.getLogger(__name__)


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
        path = Path(raw).expanduser().resolve()
        prepare_private_store(path)
        return URL.create("sqlite+pysqlite", database=str(path))
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


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only, whatever the umask (0600).

    An existing file keeps its mode. SQLite creates the ``-wal`` and ``-shm`` files
    with the mode of the database file, so creating that file first is enough.
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
    except FileExistsError:
        return


def prepare_private_store(path: Path) -> None:
    """Make a new store private (directory 0700, files 0600); warn about an old open one.

    Events, raw webhook bodies in the DLQ and the audit log are for the team's
    responders, not for every user of a shared bastion host.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path.parent, PRIVATE_DIR_MODE)  # mkdir's mode is subject to the umask
    if path.exists():
        warning = exposure_warning(path)
        if warning:
            log.warning(warning)
        return
    create_private_file(path)


def exposure_warning(path: Path) -> str | None:
    """A warning with the command that fixes it if other users can read the store."""
    exposed = [p for p in (Path(f"{path}{s}") for s in STORE_SUFFIXES)
               if p.exists() and p.stat().st_mode & 0o077]
    directory = path.parent
    if directory == default_db_path().parent and directory.stat().st_mode & 0o077:
        exposed.append(directory)
    if not exposed:
        return None
    modes = ", ".join(f"{p} {stat.filemode(p.stat().st_mode)}" for p in exposed)
    files = " ".join(shlex.quote(str(p)) for p in exposed if not p.is_dir())
    fix = " && ".join(filter(None, [
        f"chmod 600 {files}" if files else "",
        *(f"chmod 700 {shlex.quote(str(p))}" for p in exposed if p.is_dir())]))
    return f"the store can be read by other users ({modes}); to fix: {fix}"


def make_engine(location: str | os.PathLike[str] | URL | None = None, *,
                pool_size: int | None = None, statement_timeout_ms: int | None = None,
                read_only: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for ``location`` with the workbench's connection settings.

    PostgreSQL: ``pool_size`` connections per instance (as many again in bursts), a
    server-side ``statement_timeout``, TCP keepalives so a dead server or link is
    noticed in ~25 s rather than the kernel's hours, and a pre-ping so a connection
    that died in the pool (server restart) is replaced instead of failing a request.
    ``read_only``: the database itself refuses writes (SQLite ``mode=ro``, PostgreSQL
    ``default_transaction_read_only``), whatever the code above it tries.
    """
    url = location if isinstance(location, URL) else resolve_url(location)
    if url.get_backend_name() == "sqlite":
        if read_only:
            url = url.set(database=f"file:{url.database}?mode=ro", query={"uri": "true"})
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _configure_sqlite(engine, read_only=read_only)
        return engine
    from storage.tables import with_postgresql_partials

    with_postgresql_partials()  # the ORM's partial indexes, as the migrations made them
    connect: dict[str, Any] = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10,
                               "keepalives_interval": 5, "keepalives_count": 3}
    options = [f"-c statement_timeout={int(statement_timeout_ms)}"] if statement_timeout_ms \
        else []
    if read_only:
        options.append("-c default_transaction_read_only=on")
    if options:
        connect["options"] = " ".join(options)
    if pool_size is not None:
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", pool_size)
    return create_engine(url, pool_pre_ping=True, connect_args=connect, **kwargs)


def _configure_sqlite(engine: Engine, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:  # switching the journal mode is a write
            cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: every commit fsyncs the WAL, so an acknowledged write (a 2xx, a
        # receiver's 200, ingest progress) survives an OS crash or power loss, not
        # only a crash of the process (README "Durability"; benchmarks/bench_durability
        # measured no cost over NORMAL on this project's POST and bulk-ingest paths).
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: this runs for every unit of work, and going through
        # SQLAlchemy's statement execution cost more than the BEGIN itself.
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
