"""Full-text search: SQLite FTS5 (external content) or PostgreSQL tsvector.

User text never reaches the FTS grammar raw: it is tokenised into quoted terms, so
``a-b``, ``col:x`` or a stray quote search for those characters instead of raising
a syntax error. A ``"quoted phrase"`` stays a phrase; a trailing ``*`` is a prefix.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from storage.tables import EventRow
from storage.tenant_context import tenant_id

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def fts5_query(user_text: str) -> str | None:
    """An FTS5 MATCH expression for ``user_text`` (all terms must match), or None if empty."""
    parts: list[str] = []
    for phrase, word in _TOKEN.findall(user_text):
        if phrase:
            parts.append('"' + phrase.replace('"', '""') + '"')
            continue
        prefix = word.endswith("*") and len(word) > 1
        word = word.rstrip("*").replace('"', '""')
        if word:
            parts.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(parts) or None


def text_filter(conn: Connection, user_text: str) -> ColumnElement[bool] | None:
    """A WHERE clause restricting events to those matching ``user_text``."""
    # NUL ends an FTS5 string ("unterminated string") and PostgreSQL text cannot hold
    # it; it never matches stored text (NUL is replaced on the way in), so it splits terms.
    user_text = user_text.replace("\x00", " ")
    if conn.dialect.name == "sqlite":
        expression = fts5_query(user_text)
        if expression is None:
            return None
        matches: Select[Any] = select(literal_column("rowid")).select_from(text("event_fts")).where(
            text("event_fts MATCH :fts_query").bindparams(fts_query=expression)
        )
        return EventRow.id.in_(matches.scalar_subquery())
    query = tsquery(user_text)
    if query is None:
        return None
    return ts_match(query)


def ts_match(query: ColumnElement[Any]) -> ColumnElement[bool]:
    """``event.search @@ query`` (PostgreSQL)."""
    return literal_column("event.search").op("@@")(query)


Terms = tuple[tuple[str, str], ...]
"""A search text as tsquery terms: ``(function, argument)`` each, all to match."""


def tsquery_terms(user_text: str) -> Terms:
    """The terms of ``user_text`` (same grammar as :func:`fts5_query`): a ``"quoted
    phrase"`` is a phrase, a trailing ``*`` a prefix, any other word a word."""
    terms: list[tuple[str, str]] = []
    for phrase, word in _TOKEN.findall(user_text):
        if phrase:
            terms.append(("phraseto_tsquery", phrase))
            continue
        prefix = word.endswith("*") and len(word) > 1
        word = word.rstrip("*")
        if not word:
            continue
        if prefix:
            quoted = "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*"
            terms.append(("to_tsquery", quoted))
        else:
            terms.append(("phraseto_tsquery", word))
    return tuple(terms)


def tsquery_of(functions: Sequence[str], arguments: Sequence[Any]) -> ColumnElement[Any]:
    """The tsquery of terms (:func:`tsquery_terms`) whose arguments are ``arguments``
    (the texts themselves, or bind parameters for a statement compiled once)."""
    return _all_of([getattr(func, name)("simple", argument)
                    for name, argument in zip(functions, arguments, strict=True)])


def tsquery(user_text: str) -> ColumnElement[Any] | None:
    """A PostgreSQL tsquery with the same grammar as :func:`fts5_query`.

    Every term must match, a ``"quoted phrase"`` is a phrase and a trailing ``*`` a
    prefix; terms go in as bound parameters, so no text reaches the tsquery syntax raw.
    """
    terms = tsquery_terms(user_text)
    if not terms:
        return None
    return tsquery_of([name for name, _ in terms], [argument for _, argument in terms])


def _all_of(parts: list[ColumnElement[Any]]) -> ColumnElement[Any]:
    """``a && b && ...`` as a balanced tree: a left-deep chain of 200 terms exceeded
    the recursion limit of SQLAlchemy's compiler (a 500)."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return _all_of(parts[:middle]).op("&&")(_all_of(parts[middle:]))


MAX_SEARCH_WORDS = 100
SEARCH_PATTERN = r"^\s*(?:\S+\s+){0," + str(MAX_SEARCH_WORDS - 1) + r"}\S*$"
"""The search text rule as a regular expression (documented in the OpenAPI schema)."""


def check_search_text(user_text: str) -> str:
    """``user_text`` if it has at most :data:`MAX_SEARCH_WORDS` words, else ``ValueError``."""
    if len(user_text.split()) > MAX_SEARCH_WORDS:
        raise ValueError(f"search text has more than {MAX_SEARCH_WORDS} words")
    return user_text


FTS_TABLE = table("event_fts", column("rowid", Integer))


def fts_join(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` driven by the FTS5 index (SQLite), ready to order by :data:`FTS_ROWID`;
    the match expression (:func:`fts5_query`) goes in the ``fts_query`` parameter.

    Joining from ``event_fts`` lets SQLite walk the index in rowid order and stop
    after one page; ``id IN (matches)`` would first collect every match (300k rows
    for a common word).
    """
    joined = FTS_TABLE.join(EventRow, EventRow.id == FTS_TABLE.c.rowid)
    return stmt.select_from(joined).where(text("event_fts MATCH :fts_query"))


FTS_ROWID = FTS_TABLE.c.rowid
"""The column to order and page an :func:`fts_join` statement by (same as the event id)."""


def index_new_events(conn: Connection, *, after_id: int) -> None:
    """Add events with ``id > after_id`` to the FTS index (SQLite; PostgreSQL is automatic).

    Called once per ingest batch inside the writing transaction, so the index is
    current when the batch commits.
    """
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql(
        "INSERT INTO event_fts(rowid, title, body, attributes) "
        "SELECT id, title, body, attributes FROM event WHERE tenant_id = ? AND id > ?",
        (tenant_id(), after_id),
    )


def fts_forget(conn: Connection, id_: int, title: str, body: str, attributes: str) -> None:
    """Take one event out of SQLite's external-content FTS index (its old text must be
    given exactly); before its row changes or goes. PostgreSQL needs nothing."""
    fts_forget_many(conn, [(id_, title, body, attributes)])


def fts_forget_many(conn: Connection, rows: Sequence[tuple[int, str, str, str]]) -> None:
    """:func:`fts_forget` for many ``(id, title, body, attributes)`` in one call."""
    if conn.dialect.name == "sqlite" and rows:
        conn.exec_driver_sql(
            "INSERT INTO event_fts(event_fts, rowid, title, body, attributes) "
            "VALUES ('delete', ?, ?, ?, ?)", list(rows))


def fts_add(conn: Connection, id_: int, title: str, body: str, attributes: str) -> None:
    """Index one event's (new) text in SQLite's FTS index. PostgreSQL needs nothing."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "INSERT INTO event_fts(rowid, title, body, attributes) VALUES (?, ?, ?, ?)",
            (id_, title, body, attributes))


class WritableStore(Protocol):
    """What a merge needs of :class:`storage.store.Store` (named structurally: the store
    imports this module)."""

    @property
    def dialect(self) -> str: ...

    def write(self) -> AbstractContextManager[Session]: ...


def merge_fts(store: WritableStore, *, pages: int, whole: bool = False) -> bool:
    """One bounded step of FTS5's incremental merge of ``event_fts`` in its own short write
    transaction (SQLite; PostgreSQL's GIN index needs nothing): True if it did work.

    Each ingest batch adds a segment to the index; FTS5's automerge keeps them down to
    a few per level, and a search reads every one (measured: 12 segments at 100k events
    make a search up to 2-4x the CPU of one). A step writes ``pages`` leaf pages (of
    ~4 KB) and then finishes the term it is in (FTS5 stops only between terms), so its
    write lock is bounded by ``pages`` plus the longest doclist, a common word's (1M
    events, 16 pages: 7 ms at the median, 178 ms at most). ``whole`` (the first step
    of a round) puts every segment on one level first, so repeating steps until one
    returns False leaves a single segment, as ``optimize`` would in one long transaction.
    FTS5 counts a step that merged as two or more changes (its documented signal).
    """
    if store.dialect != "sqlite":
        return False
    with store.write() as session:
        conn = session.connection()
        before = conn.exec_driver_sql("SELECT total_changes()").scalar_one()
        conn.exec_driver_sql("INSERT INTO event_fts(event_fts, rank) VALUES ('merge', ?)",
                             (-pages if whole else pages,))
        after = conn.exec_driver_sql("SELECT total_changes()").scalar_one()
    return bool(after - before >= 2)


def merge_fts_round(store: WritableStore, *, pages: int, pause: float,
                    go: Callable[[], bool] = lambda: True) -> int:
    """:func:`merge_fts` steps until FTS5 has nothing left to merge (the index is one
    segment) or ``go()`` turns false; ``pause`` seconds after each step let waiting
    writers in. The number of steps that did work."""
    steps = 0
    while go() and merge_fts(store, pages=pages, whole=steps == 0):
        steps += 1
        time.sleep(pause)
    return steps


def fts_segments(conn: Connection) -> int | None:
    """How many segments ``event_fts`` is made of (from FTS5's structure record; SQLite),
    or None (PostgreSQL, or a record this reader does not know)."""
    if conn.dialect.name != "sqlite":
        return None
    block = conn.exec_driver_sql("SELECT block FROM event_fts_data WHERE id = 10").scalar()
    if not isinstance(block, bytes) or len(block) < 5:
        return None
    # A 4-byte cookie, then varints: levels, segments, ... (fts5_index.c, "structure
    # record"); since SQLite 3.44 a 4-byte marker may follow the cookie.
    at = 8 if block[4:8] == b"\xff\x00\x00\x01" else 4
    if block[at] == 0xFF:
        return None
    _levels, at = _varint(block, at)
    segments, _ = _varint(block, at)
    return segments


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """An SQLite varint at ``at``: its value and the offset after it."""
    value = 0
    for _ in range(8):
        byte = data[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at
    return (value << 8) | data[at], at + 1
