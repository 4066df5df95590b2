"""Dead-letter storage on both engines: enqueue with dedup, list, get, resolve."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import DeadLetter, DeadLetterStatus, NewDeadLetter, NotFoundError, Store
from storage import dead_letters as dlq
from tests.storage.conftest import T0


def _letter(payload: bytes = b"{bad json", connector: str = "logs", **kw: object) -> NewDeadLetter:
    return NewDeadLetter(connector=connector, payload=payload, error_class="ParseError",
                         message="line 3: expected value", **kw)


def _enqueue(store: Store, letter: NewDeadLetter, at: int = 0) -> int:
    with store.write() as session:
        return dlq.enqueue(session=session, letter=letter, now=T0 + timedelta(seconds=at))


def _resolve(store: Store, letter_id: int, status: DeadLetterStatus, *, by: str | None = None,
             error: tuple[str, str] | None = None) -> DeadLetter:
    with store.write() as session:
        return dlq.resolve(session=session, letter_id=letter_id, status=status, by=by,
                           error=error)


def test_enqueue_and_get_keep_everything(store: Store) -> None:
    raw = bytes(range(256))  # not UTF-8: kept byte for byte
    letter_id = _enqueue(store, _letter(raw, source_ref="file.jsonl:3", attempts=2))
    got = store.get_dead_letter(letter_id)
    assert (got.payload, got.error_class, got.message, got.source_ref, got.attempts) == \
        (raw, "ParseError", "line 3: expected value", "file.jsonl:3", 2)
    assert got.status is DeadLetterStatus.PENDING
    assert got.first_seen == got.last_seen == T0
    with pytest.raises(NotFoundError):
        store.get_dead_letter(10**9)


def test_same_payload_is_one_entry_with_more_attempts(store: Store) -> None:
    first = _enqueue(store, _letter())
    with store.write() as session:
        again = dlq.enqueue(session=session, now=T0 + timedelta(minutes=5), letter=NewDeadLetter(
            connector="logs", payload=b"{bad json", error_class="SchemaError", message="new"))
    assert again == first
    got = store.get_dead_letter(first)
    assert (got.attempts, got.error_class, got.message) == (2, "SchemaError", "new")
    assert (got.first_seen, got.last_seen) == (T0, T0 + timedelta(minutes=5))
    # Another connector, or another payload, is another entry.
    assert _enqueue(store, _letter(connector="git")) != first
    assert _enqueue(store, _letter(b"other")) != first
    assert store.pending_dead_letters() == {"logs": 2, "git": 1}


def test_list_filters_and_pages_newest_first(store: Store) -> None:
    ids = [_enqueue(store, _letter(f"p{n}".encode(), connector=("a", "b")[n % 2]))
           for n in range(7)]
    page = store.list_dead_letters(limit=3)
    seen = [d.id for d in page.items]
    while page.next_cursor:
        page = store.list_dead_letters(limit=3, cursor=page.next_cursor)
        seen += [d.id for d in page.items]
    assert seen == sorted(ids, reverse=True)
    only_b = store.list_dead_letters(connector="b", limit=50)
    assert [d.id for d in only_b.items] == [i for i in reversed(ids) if ids.index(i) % 2]


def test_replayed_and_discarded_are_terminal_and_idempotent(store: Store) -> None:
    a = _enqueue(store, _letter(b"a"))
    b = _enqueue(store, _letter(b"b"))
    done = _resolve(store, a, DeadLetterStatus.REPLAYED, by="ana")
    assert done.status is DeadLetterStatus.REPLAYED and done.resolved_by == "ana"
    assert done.resolved_at is not None
    twice = _resolve(store, a, DeadLetterStatus.DISCARDED, by="bo")
    assert twice == done  # unchanged
    _resolve(store, b, DeadLetterStatus.DISCARDED)
    assert store.list_dead_letters().items == []
    assert {d.id for d in store.list_dead_letters(status=None).items} == {a, b}
    assert [d.id for d in store.list_dead_letters(status=DeadLetterStatus.REPLAYED).items] == [a]
    assert store.pending_dead_letters() == {}


def test_failed_replay_stays_pending_with_the_new_error(store: Store) -> None:
    a = _enqueue(store, _letter())
    got = _resolve(store, a, DeadLetterStatus.REPLAYED, error=("SchemaError", "still bad"))
    assert (got.status, got.attempts, got.error_class, got.message) == \
        (DeadLetterStatus.PENDING, 2, "SchemaError", "still bad")


def test_resolved_payload_failing_again_is_a_new_entry(store: Store) -> None:
    a = _enqueue(store, _letter())
    _resolve(store, a, DeadLetterStatus.DISCARDED)
    assert _enqueue(store, _letter()) != a


def test_resolve_unknown_id(store: Store) -> None:
    with pytest.raises(NotFoundError):
        _resolve(store, 10**9, DeadLetterStatus.REPLAYED)


@pytest.mark.parametrize("key", [("abc",), (1.5,), ("2026-01-01",)])
def test_tampered_list_cursor(store: Store, key: tuple[object, ...]) -> None:
    from storage import InvalidCursorError
    from storage.pagination import Cursor

    with pytest.raises(InvalidCursorError):
        store.list_dead_letters(cursor="@@@")
    with pytest.raises(InvalidCursorError):
        store.list_dead_letters(cursor=Cursor(key).encode())
