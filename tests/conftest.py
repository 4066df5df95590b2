"""Shared fixtures.

``store`` is parametrised over SQLite (a real file in tmp_path) and, when
``WORKBENCH_TEST_PG_URL`` points at a PostgreSQL server, a fresh database on it:
the whole storage suite runs against both engines.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage import Store, visibility
from tests import tenant_guard

# Property tests check meaning, not speed: on a loaded 2-core CI machine a single
# example can take far past hypothesis' 200 ms deadline, which then fails as "flaky".
settings.register_profile("workbench", deadline=None)
settings.load_profile("workbench")

PG_URL = os.environ.get("WORKBENCH_TEST_PG_URL")
tenant_guard.install()


@pytest.fixture(autouse=True)
def _tenant_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that ran a statement on a tenant table without ``tenant_id``
    (``tests/tenant_guard.py``); ``@pytest.mark.no_tenant_guard`` opts out."""
    visibility.set_process_default(visibility.EVERYTHING)  # a CLI --tenant run in-process
    if request.node.get_closest_marker("no_tenant_guard"):
        yield
        return
    tenant_guard.take()
    tenant_guard.enabled.set()
    try:
        yield
    finally:
        tenant_guard.enabled.clear()
    found = tenant_guard.take()
    assert not found, "statements without the tenant predicate:\n" + "\n".join(
        dict.fromkeys(found))


def _pg_database() -> Generator[str, None, None]:
    """Create a throwaway database on the test server; drop it afterwards."""
    assert PG_URL is not None
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")
    name = f"wbtest_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A location for an empty store on each engine."""
    if request.param == "sqlite":
        yield str(tmp_path / "workbench.db")
        return
    if PG_URL is None:
        pytest.skip("WORKBENCH_TEST_PG_URL is not set")
    yield from _pg_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated, empty store on each engine."""
    opened = Store.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """An open, migrated, empty SQLite store (for SQLite-only behaviour)."""
    opened = Store.open(tmp_path / "workbench.db")
    yield opened
    opened.close()
