"""Receivers' dead letters replay through the DLQ policy with the receiver's parser."""

from __future__ import annotations

import orjson

from connectors.ci.github_events import webhook_record
from connectors.dlq import Parsers, ReplayStatus, replay
from connectors.push import dead_letter
from storage import Store
from storage.queries import EventQuery
from tests.network import payloads


def _letter_id(store: Store, connector: str, raw: bytes) -> int:
    store.ingest([], dead_letters_=[dead_letter(connector, raw, ValueError("parser bug"))])
    return store.list_dead_letters(connector=connector).items[0].id


def test_github_record_replays_once(store: Store) -> None:
    raw = webhook_record("workflow_run", "d-1", orjson.dumps(payloads.workflow_run()))
    letter = _letter_id(store, "github-webhook", raw)
    assert replay(store, letter, Parsers()).status is ReplayStatus.REPLAYED
    assert replay(store, letter, Parsers()).status is ReplayStatus.ALREADY_RESOLVED
    [event] = store.list_events(EventQuery()).items
    assert event.attributes["run_id"] == 30433642


def test_bad_alert_stays_pending_with_new_error(store: Store) -> None:
    letter = _letter_id(store, "alertmanager-webhook", b'{"alert": {"labels": 1}}')
    outcome = replay(store, letter, Parsers())
    assert outcome.status is ReplayStatus.FAILED
    assert store.get_dead_letter(letter).attempts == 2
