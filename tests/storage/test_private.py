"""The store is private: directory 0700, database, WAL and SHM 0600, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Store
from storage.engine import create_private_file
from tests.storage.conftest import new_event


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_a_new_store_is_private(tmp_path: Path, umask: int) -> None:
    db = tmp_path / "data" / "workbench" / "workbench.db"
    store = Store.open(db)
    try:
        store.ingest([new_event(1)])
        with store.read() as session:  # a reader keeps the WAL and SHM in place
            session.connection().exec_driver_sql("SELECT count(*) FROM event").scalar()
            assert _mode(db.parent) == 0o700
            for name in ("workbench.db", "workbench.db-wal", "workbench.db-shm"):
                assert _mode(db.parent / name) == 0o600, (name, oct(umask))
    finally:
        store.close()
    log = tmp_path / "serve.log"
    create_private_file(log)
    assert _mode(log) == 0o600


def test_an_open_store_gets_a_warning_with_the_fix(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "old.db"
    Store.open(db).close()
    db.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="storage.engine"):
        Store.open(db).close()
    message = caplog.text
    assert "can be read by other users" in message and f"chmod 600 {db}" in message
    subprocess.run(["sh", "-c", message.split("to fix: ")[1].strip()], check=True)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="storage.engine"):
        Store.open(db).close()
    assert "other users" not in caplog.text


def test_serve_log_file_is_private(tmp_path: Path, umask: int) -> None:
    log = tmp_path / "serve.log"
    code = ("import sys, argparse; from pathlib import Path; "
            "from workbench.cli.serve import _configure_logging; "
            f"_configure_logging(argparse.Namespace(log_file=Path({str(log)!r}), "
            "log_level='INFO'))")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert _mode(log) == 0o600
