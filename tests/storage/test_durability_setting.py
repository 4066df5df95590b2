"""The durability promise of the README: SQLite commits fsync the WAL (synchronous=FULL).

``NORMAL`` would survive a crash of the process but could lose the last
acknowledged commits on an OS crash or power loss.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage import Store

FULL = 2


def test_every_sqlite_connection_commits_with_full_sync(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "wb.db")
    try:
        with store.read() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar() == FULL
        with store.write() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar() == FULL
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()
