"""The test suite's tenant guard: a statement on a tenant table must name ``tenant_id``.

Scoping by tenant lives in the store (:mod:`storage.visibility`): the ORM hook adds
the predicate to ORM statements, :func:`storage.visibility.tenant_clause` and the
event filter shapes add it to Core and driver-level SQL. This guard watches every
statement that reaches a database during a test -- SQLAlchemy's cursor executions on
both engines, and on SQLite every statement the driver runs (``set_trace_callback``:
the compiled pages and the API's fast path run on the driver's own cursor) -- and
records any that reads or writes a tenant-owned table without ``tenant_id`` in its
text, unless it runs in :data:`storage.visibility.SYSTEM` (migrations, token
resolution, tenant administration). ``tests/conftest.py`` fails the test that ran it.

A text check, deliberately simple: it cannot prove the predicate is the right one
(the tenant matrix in ``tests/api/test_tenants.py`` does), but a new query that
forgets the tenant altogether cannot pass the suite.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

from storage import visibility
from storage.tables import Base

TENANT_TABLES = frozenset(t.name for t in Base.metadata.tables.values()
                          if "tenant_id" in t.c and not t.c.tenant_id.nullable)
"""Tables whose every row belongs to a tenant (``job_lease`` only names one, if any)."""
_TABLE = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
_EXEMPT = re.compile(r"^\s*(?:--|PRAGMA|CREATE|ALTER|DROP|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|"
                     r"RELEASE|ANALYZE|VACUUM|REINDEX|SET|SHOW|LISTEN|NOTIFY)", re.IGNORECASE)

_lock = threading.Lock()
violations: list[str] = []
enabled = threading.Event()


_LITERAL = re.compile(r"'(?:[^']|'')*'")
"""A string literal: the driver's trace expands bound values into the text, and a value
such as ``' UNION SELECT ... FROM api_token--`` is data, not a table read."""


def unscoped_tables(statement: str) -> set[str]:
    """The tenant tables ``statement`` touches if it names no ``tenant_id``."""
    if "tenant_id" in statement.lower() or _EXEMPT.match(statement):
        return set()
    code = _LITERAL.sub("''", statement)
    return {m for m in _TABLE.findall(code) if m.lower() in TENANT_TABLES}


def check(statement: str) -> None:
    """Record ``statement`` if it touches a tenant table unscoped."""
    if not enabled.is_set() or visibility.current().tenant_id is None:
        return
    tables = unscoped_tables(statement)
    if tables and _from_product_code():
        with _lock:
            violations.append(f"{sorted(tables)}: {' '.join(statement.split())[:400]}")


_PRODUCT = tuple(str(Path(__file__).resolve().parent.parent / name) + os.sep
                 for name in ("storage", "workbench", "connectors"))


_FLUSH = os.sep + os.path.join("sqlalchemy", "orm", "persistence.py")


def _from_product_code() -> bool:
    """Whether the product ran the statement itself: not a test's own raw SQL
    (tampering with the audit chain, writing an old store), and not the ORM flushing
    a row it loaded (``UPDATE ... WHERE id = ?`` of an object the scoped read found;
    an insert's tenant comes from the column default)."""
    frame = sys._getframe(2)
    product = False
    while frame is not None:
        name = frame.f_code.co_filename
        if name.endswith(_FLUSH):
            return False
        product = product or name.startswith(_PRODUCT)
        frame = frame.f_back  # type: ignore[assignment]
    return product


def _before_cursor_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    if conn.dialect.name != "sqlite":  # SQLite: the trace callback sees everything
        check(statement)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.set_trace_callback(check)


def install() -> None:
    """Listen on every engine and pool (once per process)."""
    if not event.contains(Engine, "before_cursor_execute", _before_cursor_execute):
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
        event.listen(Pool, "connect", _on_connect)


def take() -> list[str]:
    """The violations recorded since the last call (and forget them)."""
    with _lock:
        found = violations.copy()
        violations.clear()
    return found
