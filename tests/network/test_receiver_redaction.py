"""Redaction at ingest for pushed data: an OTLP export over HTTP into a store opened
with the default policy (as every command opens it): nothing planted or personal
reaches a row, the FTS index or the DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from storage import Store
from storage.queries import EventQuery
from storage.redaction import Policy
from tests.network.servers import RECEIVER_AUTH, receiver_app, serve_app

FIELD = Path(__file__).resolve().parents[1] / "field"
TOKEN = "Bearer 7f3c9a1e5b2d4f60a8c1"
SUBJECT = "jane.doe@example.com"


@pytest.fixture
def private(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url, redaction=Policy())
    yield opened
    opened.close()


def _dump(store: Store) -> str:
    with store.read() as session:
        return " ".join(str(tuple(row)) for table in ("event", "dead_letter")
                        for row in session.execute(text(f"SELECT * FROM {table}")))


def test_an_otlp_span_error_keeps_no_token_and_no_address(private: Store) -> None:
    export = json.loads((FIELD / "traces" / "jaeger-ui-otlp-nodejs-four-exports.jsonl")
                        .read_bytes().splitlines()[0])
    span = export["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["status"] = {"code": 2, "message": f"login failed for {SUBJECT}"}
    span["attributes"] = [{"key": "http.request.header.authorization",
                           "value": {"stringValue": TOKEN}},
                          {"key": "enduser.id", "value": {"stringValue": SUBJECT}}]
    with serve_app(receiver_app(private)) as base:
        reply = httpx.post(f"{base}/v1/traces", content=json.dumps(export),
                           headers={"Content-Type": "application/json", **RECEIVER_AUTH})
        assert reply.status_code == 200, reply.text
        broken = httpx.post(f"{base}/v1/traces", content=f'{{"oops": "{SUBJECT}"',
                            headers={"Content-Type": "application/json", **RECEIVER_AUTH})
        assert broken.status_code == 400
    [event] = private.list_events(EventQuery()).items
    assert event.kind == "span_error" and "[redacted:email]" in event.title
    assert event.attributes["span_attributes"]["http.request.header.authorization"] == \
        "Bearer [redacted:bearer]"
    dumped = _dump(private)
    assert SUBJECT not in dumped and TOKEN.split()[1] not in dumped
    [letter] = private.list_dead_letters().items        # the broken body, kept redacted
    assert letter.payload == b'{"oops": "[redacted:email]"'
    assert not private.list_events(EventQuery(text="jane")).items
