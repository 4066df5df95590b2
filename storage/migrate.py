"""Schema migrations (Alembic), shipped inside the package and run programmatically.

Alembic (with Mako and Pygments behind it) costs about 75 ms to import, which is
a third of the TUI's start-up budget; so it is imported only when a store actually
needs upgrading. :func:`ensure_current` checks the stored revision with one plain
query against the head read from the migration files themselves.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from storage import planner_stats
from storage.engine import WRITE_OPTION
from storage.tenant_context import all_tenants

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head_revision() -> str:
    """The newest revision this code knows (the one no other revision revises)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        revised.update(_DOWN.findall(source))
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The revision a store is at, or ``None`` for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store to ``revision`` in one write transaction."""
    from alembic import command

    config = _config()
    # A migration spans every tenant (backfills, rebuilds).
    with all_tenants(), engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
        driver = conn.connection.driver_connection
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Outside the transaction (inside it the pragma does nothing): a batch
            # migration copies a table and drops the old one, and with foreign keys on
            # that DROP would first delete every row and cascade to the children
            # (0016 rebuilds ``event``: its tags and links would go).
            driver.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    # Several instances starting at once on one database: one migrates,
                    # the others wait here and then find the store current (SQLite:
                    # BEGIN IMMEDIATE).
                    conn.execute(text("SELECT pg_advisory_xact_lock(7262011)"))
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def ensure_current(engine: Engine) -> None:
    """Upgrade to head unless the store is already there (the common, cheap case).

    On SQLite, also give the planner the statistics the store ships
    (:mod:`storage.planner_stats`): they are part of what the code expects of the
    schema, and a store upgraded by an older version has none.
    """
    if current_revision(engine) != head_revision():
        upgrade(engine)
    if engine.dialect.name == "sqlite":
        ensure_planner_stats(engine)


def ensure_planner_stats(engine: Engine) -> None:
    """Write the shipped planner statistics if the store's differ (SQLite only)."""
    with engine.connect() as conn:
        current = planner_stats.stored(conn) == planner_stats.EVENT_STATS
    if current:
        return
    with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn, conn.begin():
        planner_stats.ensure(conn)
    # Pooled connections loaded the schema without these statistics.
    engine.dispose()
