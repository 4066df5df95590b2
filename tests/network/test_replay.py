"""Receivers' dead letters replay through the DLQ policy with the receiver's parser."""

from __future__ import annotations

import orjson

from connectors.ci.github_events import webhook_record
from connectors.dlq import Parsers, ReplayStatus, dead_letter, replay
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


def test_otlp_span_replays_to_its_error_event(store: Store) -> None:
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Status

    spans = ResourceSpans()
    kv = spans.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "payments"
    span = spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "charge"
    span.start_time_unix_nano = 1_700_000_000_000_000_000
    span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000_000
    span.status.code = Status.STATUS_CODE_ERROR
    good = _letter_id(store, "otlp", spans.SerializeToString())
    assert replay(store, good, Parsers()).status is ReplayStatus.REPLAYED
    [event] = store.list_events(EventQuery()).items
    assert (event.service, event.trace_id) == ("payments", "01" * 16)
    span.trace_id = bytes(16)   # still invalid: stays in the DLQ
    bad = _letter_id(store, "otlp", spans.SerializeToString())
    assert replay(store, bad, Parsers()).status is ReplayStatus.FAILED
