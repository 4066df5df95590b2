"""DLQ policy: replay (idempotent, also when racing), discard, parsers, store rejections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from connectors import dlq
from connectors.dlq import Parsers, ReplayStatus, UnknownParserError
from connectors.supervisor import Supervisor
from storage import Store
from storage.models import DeadLetterStatus, NewDeadLetter, NewEvent
from tests.connectors.runtime_fakes import FakeConnector, config, records


def event_count(store: Store) -> int:
    return sum(store.count_events("source").values())


async def poisoned(store: Store) -> tuple[FakeConnector, list[int]]:
    fake = FakeConnector("src", records("src", 20, poison_every=4))
    summary = await Supervisor(store, [(fake, config("src"))]).sync()
    assert summary["src"].dead_lettered == 5
    ids = [letter.id for letter in dlq.iter_pending(store, connector="src")]
    return fake, ids


async def test_replay_after_fix_is_idempotent(store: Store) -> None:
    fake, ids = await poisoned(store)
    parsers = Parsers.of([fake])
    failed = dlq.replay(store, ids[0], parsers)
    assert failed.status is ReplayStatus.FAILED and "unparseable" in (failed.error or "")
    letter = dlq.inspect(store, ids[0])
    assert letter.status is DeadLetterStatus.PENDING and letter.attempts == 2

    fake.fixed = True  # a new parser version is deployed
    outcomes = dlq.replay_all(store, parsers, connector="src", by="alice")
    assert [o.status for o in outcomes] == [ReplayStatus.REPLAYED] * 5
    assert all(o.stored for o in outcomes)
    assert event_count(store) == 20
    again = dlq.replay(store, ids[0], parsers)
    assert again.status is ReplayStatus.ALREADY_RESOLVED
    assert event_count(store) == 20
    letter = dlq.inspect(store, ids[0])
    assert letter.status is DeadLetterStatus.REPLAYED and letter.resolved_by == "alice"
    assert store.pending_dead_letters() == {}


async def test_racing_replays_store_once(store: Store) -> None:
    """Two threads replay every entry at once: one wins each, 0 duplicates."""
    fake, ids = await poisoned(store)
    fake.fixed = True
    parsers = Parsers.of([fake])
    barrier = threading.Barrier(2)

    def worker() -> list[ReplayStatus]:
        out = []
        for letter_id in ids:
            barrier.wait(10)
            out.append(dlq.replay(store, letter_id, parsers).status)
        return out

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(worker), pool.submit(worker)
        results = list(zip(a.result(), b.result(), strict=True))
    for pair in results:
        assert sorted(pair) == sorted([ReplayStatus.REPLAYED, ReplayStatus.ALREADY_RESOLVED])
    assert event_count(store) == 20
    assert all(dlq.inspect(store, i).status is DeadLetterStatus.REPLAYED for i in ids)


async def test_discard_is_terminal(sqlite_store: Store) -> None:
    fake, ids = await poisoned(sqlite_store)
    discarded = dlq.discard(sqlite_store, ids[0], by="bob")
    assert discarded.status is DeadLetterStatus.DISCARDED
    fake.fixed = True
    assert dlq.replay(sqlite_store, ids[0], Parsers.of([fake])).status is \
        ReplayStatus.ALREADY_RESOLVED
    assert len(dlq.list_letters(sqlite_store, status=DeadLetterStatus.DISCARDED).items) == 1


def test_import_entries_replay_with_the_jsonl_parser(sqlite_store: Store) -> None:
    line = orjson.dumps({"source": "manual", "kind": "note", "title": "fixed by hand",
                         "occurred_at": "2026-01-01T00:00:00Z"})
    sqlite_store.ingest([], dead_letters_=[NewDeadLetter(
        connector="import", payload=line, error_class="InvalidEvent", message="was bad")])
    letter = dlq.list_letters(sqlite_store).items[0]
    assert dlq.replay(sqlite_store, letter.id, Parsers()).status is ReplayStatus.REPLAYED
    assert event_count(sqlite_store) == 1


def test_unknown_connector_has_no_parser(sqlite_store: Store) -> None:
    sqlite_store.ingest([], dead_letters_=[NewDeadLetter(
        connector="gone", payload=b"x", error_class="X", message="m")])
    letter = dlq.list_letters(sqlite_store).items[0]
    with pytest.raises(UnknownParserError, match="gone"):
        dlq.replay(sqlite_store, letter.id, Parsers())
    assert dlq.inspect(sqlite_store, letter.id).status is DeadLetterStatus.PENDING


async def test_store_rejected_events_go_to_the_dlq(store: Store) -> None:
    """PostgreSQL refuses NUL in text: that event is dead-lettered, the rest are stored."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores NUL characters; only PostgreSQL rejects them")
    data = records("n", 10)
    data[3] = b"n-3"
    fake = FakeConnector("nul", data)
    real_parse = fake.parse

    def parse(raw: bytes) -> NewEvent:
        event = real_parse(raw)
        return event.model_copy(update={"title": "bad\x00title"}) if raw == b"n-3" else event

    fake.parse = parse  # type: ignore[method-assign]  # the fake's parser, wrapped
    summary = await Supervisor(store, [(fake, config("nul"))]).sync()
    assert (summary["nul"].stored, summary["nul"].dead_lettered) == (9, 1)
    letter = dlq.list_letters(store, connector="nul").items[0]
    assert letter.error_class.startswith("StoreRejected:")
    assert store.get_cursor("nul") == "10"
    assert b'"dedup_key":"n-3"' in letter.payload  # the event itself, as JSON
    # Replay re-reads the event JSON (not the connector's raw format); pydantic's JSON
    # reader turns the escaped NUL into U+FFFD, so this time the store accepts it.
    outcome = dlq.replay(store, letter.id, Parsers.of([fake]))
    assert outcome.status is ReplayStatus.REPLAYED and outcome.stored
    assert event_count(store) == 10
