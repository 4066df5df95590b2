"""Datadog APM and New Relic span pulls against their recorded / documented replies,
served on loopback (see the SOURCE notes in ``datadog/`` and ``newrelic/``)."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.errors import PermanentSourceError, PoisonRecordError, RateLimitedError
from connectors.http import PaginationStuckError
from connectors.traces.datadog_spans import (
    DatadogTracesConfig,
    DatadogTracesConnector,
    datadog_span,
)
from connectors.traces.detect import TraceDetector
from connectors.traces.newrelic import (
    NerdGraphError,
    NerdGraphTimeout,
    NewRelicTracesConfig,
    NewRelicTracesConnector,
    newrelic_span,
)
from connectors.traces.otlp import decode_json
from connectors.traces.rules import TraceRules
from storage.models import EventKind
from tests.field.traces.span_servers import (
    DATADOG,
    HERE,
    NEWRELIC,
    Replay,
    datadog_pages,
    load,
    newrelic_rows,
    serve,
)

RECORDED = datetime(2023, 6, 29, 10, 5, 52, tzinfo=UTC).timestamp()   # search.json's frozen time
JAVA = "java-sample-app-spartancrimson"
SLOW_JAVA = TraceRules(thresholds_ms={JAVA: 1.5})


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_TEST_DD_API", "dd-api")
    monkeypatch.setenv("WB_TEST_DD_APP", "dd-app")
    monkeypatch.setenv("WB_TEST_NR_KEY", "NRAK-test")


def _datadog(url: str, **extra: Any) -> DatadogTracesConnector:
    config = DatadogTracesConfig(name="dd-apm", url=url, api_key="env:WB_TEST_DD_API",
                                 app_key="env:WB_TEST_DD_APP", delay_seconds=0,
                                 **{"rules": SLOW_JAVA, **extra})
    return DatadogTracesConnector(config, httpx.AsyncClient(), clock=lambda: RECORDED)


def _hex(decimal: str) -> str:
    return format(int(decimal), "032x")


async def test_recorded_search_finds_the_slow_java_traces_with_their_critical_paths() -> None:
    with serve(Replay(datadog_pages([(DATADOG / "search.json").read_bytes()]))) as replay:
        batch = await _datadog(replay.url).poll(None)
    request, end_of_pages = replay.requests
    assert end_of_pages["body"]["data"]["attributes"]["page"]["cursor"] == \
        load(DATADOG / "search.json")["meta"]["page"]["after"]
    assert request["headers"]["DD-API-KEY"] == "dd-api"
    assert request["headers"]["DD-APPLICATION-KEY"] == "dd-app"
    attributes = request["body"]["data"]["attributes"]
    end_ms = int(RECORDED * 1000)
    assert attributes["filter"] == {"from": str(end_ms - 900_000), "to": str(end_ms),
                                    "query": "*"}
    assert attributes["sort"] == "timestamp" and request["body"]["data"]["type"] == \
        "search_request"
    # Roots of service java over 1.5 ms: 1,594,528 ns (trace 4097838600103622745) and
    # 1,565,132 ns (1448528526839826639, whose child is listed before its root);
    # 1,406,493 and 1,301,452 ns stay under.
    slow = {e.trace_id: e for e in batch.events if e.kind == EventKind.SLOW_TRACE}
    assert set(slow) == {_hex("4097838600103622745"), _hex("1448528526839826639")}
    event = slow[_hex("1448528526839826639")]
    assert event.service == JAVA and event.environment == "pcf-spartancrimson"
    assert event.title == f"{JAVA}: GET / took 1.57 ms (limit 1.5 ms)"
    assert event.severity == "medium" and event.span_id == format(803234406780610866, "016x")
    assert event.attributes["service_version"] == "1.0.0" and event.attributes["spans"] == 2
    assert event.occurred_at == datetime(2023, 6, 29, 9, 51, 3, 879000, tzinfo=UTC)
    path = event.attributes["critical_path"]
    assert [step["span_id"] for step in path] == [format(803234406780610866, "016x"),
                                                  format(336673670559389884, "016x")]
    assert batch.received == 25 and not batch.dead_letters
    assert batch.cursor == str(end_ms) and batch.caught_up


async def test_pages_follow_meta_page_after_until_an_empty_page() -> None:
    pages = [(DATADOG / f"search_page_{n}.json").read_bytes() for n in (1, 2, 3)]
    with serve(Replay(datadog_pages(pages))) as replay:
        batch = await _datadog(replay.url, page_limit=2).poll(None)
    cursors = [r["body"]["data"]["attributes"]["page"].get("cursor") for r in replay.requests]
    assert cursors == [None, load(DATADOG / "search_page_1.json")["meta"]["page"]["after"],
                       load(DATADOG / "search_page_2.json")["meta"]["page"]["after"]]
    assert batch.received == 3 and batch.caught_up


async def test_a_poll_stops_after_max_pages_and_resumes_at_the_last_span() -> None:
    pages = [(DATADOG / f"search_page_{n}.json").read_bytes() for n in (1, 2, 3)]
    with serve(Replay(datadog_pages(pages))) as replay:
        batch = await _datadog(replay.url, page_limit=2, max_pages=1).poll(None)
    assert len(replay.requests) == 1 and not batch.caught_up
    last = load(DATADOG / "search_page_1.json")["data"][-1]["attributes"]["start_timestamp"]
    assert batch.cursor == str(int(datetime.fromisoformat(last).timestamp() * 1000))


async def test_a_cursor_that_does_not_advance_is_refused() -> None:
    page = (DATADOG / "search_page_1.json").read_bytes()

    def same_page(path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str],
                                                                          bytes]:
        return 200, {}, page
    with serve(Replay(same_page)) as replay, pytest.raises(PaginationStuckError):
        await _datadog(replay.url, page_limit=2).poll(None)


async def test_rate_limit_reset_and_the_recorded_422() -> None:
    def limited(path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str],
                                                                         bytes]:
        return 429, {"X-RateLimit-Limit": "300", "X-RateLimit-Period": "3600",
                     "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"}, b'{"errors":[]}'
    with serve(Replay(limited)) as replay, pytest.raises(RateLimitedError) as caught:
        await _datadog(replay.url).poll(None)
    assert caught.value.retry_after == 7.0

    refusal = (DATADOG / "search_422.json").read_bytes()
    with serve(Replay(lambda *_: (422, {}, refusal))) as replay, \
            pytest.raises(PermanentSourceError, match="HTTP 422"):
        await _datadog(replay.url).poll(None)


def _failing(record: dict[str, Any]) -> dict[str, Any]:
    """A recorded span with the error attributes Datadog tracers set on a failure
    (``error.type``/``error.message``/``error.stack``, nested under ``custom``)."""
    failed = copy.deepcopy(record)
    failed["attributes"]["custom"]["error"] = {
        "type": "psycopg2.OperationalError", "message": "connection pool exhausted",
        "stack": "Traceback (most recent call last):\n  File \"app.py\", line 12"}
    return failed


async def test_a_poison_record_goes_to_the_dlq_and_an_error_span_becomes_an_event() -> None:
    document = load(DATADOG / "search.json")
    document["data"][0] = _failing(document["data"][0])
    document["data"][1]["attributes"]["trace_id"] = "not-a-number"
    with serve(Replay(datadog_pages([json.dumps(document).encode()]))) as replay:
        connector = _datadog(replay.url)
        batch = await connector.poll(None)
    [letter] = batch.dead_letters
    assert letter.source_ref == document["data"][1]["id"] and letter.error_class == "ValueError"
    with pytest.raises(PoisonRecordError):
        connector.parse(letter.payload)                   # still broken on replay
    [error] = [e for e in batch.events if e.kind == EventKind.SPAN_ERROR]
    recorded = document["data"][0]["attributes"]
    assert (error.source, error.severity, error.service, error.environment) == \
        ("traces", "high", "python-sample-app-spartancrimson", "pcf-spartancrimson")
    assert error.occurred_at == datetime(2023, 6, 29, 9, 50, 52, 472000, tzinfo=UTC)
    assert error.trace_id == _hex(recorded["trace_id"])
    assert error.span_id == format(int(recorded["span_id"]), "016x") == "80a85797aa7dff4e"
    assert error.title == "python-sample-app-spartancrimson: GET / failed: " \
        "psycopg2.OperationalError: connection pool exhausted"
    assert error.body == recorded["custom"]["error"]["stack"]
    assert error.attributes["duration_ms"] == 3.402932        # custom.duration, in ns
    assert error.attributes["exceptions"] == [{
        "type": "psycopg2.OperationalError", "message": "connection pool exhausted",
        "stacktrace": recorded["custom"]["error"]["stack"]}]
    assert error.attributes["span_attributes"]["http"]["route"] == "/"
    assert error.dedup_key == f"span_error:{error.trace_id}:{error.span_id}"
    assert connector.parse(orjson.dumps(document["data"][0])).dedup_key == error.dedup_key
    assert len(batch.events) == 3 and batch.received == 25


def _otlp_sample() -> list[Any]:
    spans: list[Any] = []
    for line in (HERE / "jaeger-ui-otlp-nodejs-four-exports.jsonl").read_bytes().splitlines():
        spans.extend(decode_json(line).spans)
    return spans


def _ids(spans: list[Any]) -> set[tuple[str, str, str | None]]:
    return {(s.trace_id, s.span_id, s.parent_id) for s in spans}


def test_one_trace_through_otlp_new_relic_and_datadog_has_one_identity() -> None:
    otlp = _otlp_sample()
    rows = load(NEWRELIC / "nrql_otlp_trace.json")["data"]["actor"]["account"]["nrql"]["results"]
    newrelic = [newrelic_span(row) for row in rows]
    assert _ids(newrelic) == _ids(otlp) and len(otlp) == 4
    assert {(s.service, s.name, s.start_ns // 1_000_000) for s in newrelic} == \
        {(s.service, s.name, s.start_ns // 1_000_000) for s in otlp}
    # Datadog keeps the low 64 bits in decimal and the high 64 bits in _dd.p.tid.
    record = load(DATADOG / "search.json")["data"][3]
    trace_id = otlp[0].trace_id
    record["attributes"]["trace_id"] = str(int(trace_id[16:], 16))
    record["attributes"]["custom"]["_dd"] = {"p": {"tid": trace_id[:16]}}
    assert datadog_span(record).trace_id == trace_id
    rules = TraceRules(thresholds_ms={"example-trace": 100.0})
    [from_otlp] = TraceDetector(rules).observe(otlp)
    [from_newrelic] = TraceDetector(rules).observe(newrelic)
    assert from_otlp.dedup_key == from_newrelic.dedup_key == f"slow_trace:{trace_id}"


def _newrelic(url: str, **extra: Any) -> NewRelicTracesConnector:
    config = NewRelicTracesConfig(name="nr", url=url, **{"account_id": 1234567, **extra},
                                  user_key="env:WB_TEST_NR_KEY", delay_seconds=0,
                                  rules=TraceRules(thresholds_ms={"example-trace": 100.0}))
    return NewRelicTracesConnector(config, httpx.AsyncClient(),
                                   clock=lambda: 1711138247.2 + 60)


async def test_new_relic_splits_full_windows_and_reads_every_span_once() -> None:
    rows = load(NEWRELIC / "nrql_otlp_trace.json")["data"]["actor"]["account"]["nrql"]["results"]
    with serve(Replay(newrelic_rows(rows))) as replay:
        batch = await _newrelic(replay.url, limit=2).poll(None)
    request = replay.requests[0]
    assert request["headers"]["API-Key"] == "NRAK-test"
    assert request["body"]["variables"]["account"] == 1234567
    assert "$nrql: Nrql!" in request["body"]["query"]
    windows = [tuple(int(x) for x in r["body"]["variables"]["nrql"].split("SINCE ")[1]
                     .split(" LIMIT")[0].split(" UNTIL ")) for r in replay.requests]
    answered = [w for w in windows if sum(w[0] <= r["timestamp"] < w[1] for r in rows) < 2]
    covered = sorted(answered)
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False)), \
        "the answered windows tile the poll's window without gaps or overlaps"
    assert batch.received == 4 and batch.caught_up and not batch.warnings
    # The root comes in the oldest window and is reported then; later windows' spans
    # re-report the same trace (one dedup key: the stored event is replaced in place).
    assert {(e.kind, e.dedup_key) for e in batch.events} == \
        {(EventKind.SLOW_TRACE, f"slow_trace:{rows[0]['trace.id']}")}
    assert len(batch.events[-1].attributes["critical_path"]) >= 2


async def test_the_account_id_may_be_a_secret_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = load(NEWRELIC / "nrql_otlp_trace.json")["data"]["actor"]["account"]["nrql"]["results"]
    monkeypatch.setenv("WB_TEST_NR_ACCOUNT", "7654321")
    with serve(Replay(newrelic_rows(rows))) as replay:
        await _newrelic(replay.url, account_id="env:WB_TEST_NR_ACCOUNT").poll(None)
    assert replay.requests[0]["body"]["variables"]["account"] == 7654321
    monkeypatch.setenv("WB_TEST_NR_ACCOUNT", "acme")
    with serve(Replay(newrelic_rows(rows))) as replay, \
            pytest.raises(PermanentSourceError, match="not an account number"):
        await _newrelic(replay.url, account_id="env:WB_TEST_NR_ACCOUNT").poll(None)


async def test_new_relic_errors_in_a_200_answer() -> None:
    timeout = (NEWRELIC / "nerdgraph_timeout.json").read_bytes()
    with serve(Replay(lambda *_: (200, {}, timeout))) as replay, \
            pytest.raises(NerdGraphTimeout, match="NRDB query timed out"):
        await _newrelic(replay.url).poll(None)
    refused = json.dumps({"data": None, "errors": [{"message": "Account 1234567 not found"}]})
    with serve(Replay(lambda *_: (200, {}, refused.encode()))) as replay, \
            pytest.raises(NerdGraphError, match="Account 1234567 not found"):
        await _newrelic(replay.url).poll(None)


def test_a_failing_new_relic_span_carries_its_error() -> None:
    rows = load(NEWRELIC / "nrql_otlp_trace.json")["data"]["actor"]["account"]["nrql"]["results"]
    agent = {**rows[0], "error.class": "java.net.SocketTimeoutException",
             "error.message": "Read timed out"}
    span = newrelic_span(agent)
    assert span.error and span.status_message == "Read timed out"
    assert span.exceptions == [{"type": "java.net.SocketTimeoutException",
                                "message": "Read timed out", "stacktrace": ""}]
    otel = {**rows[0], "otel.status_code": "ERROR", "otel.status_description": "boom"}
    assert newrelic_span(otel).error and not newrelic_span(rows[0]).error


ROOT = Path(__file__).resolve().parents[3]


def test_sync_from_the_config_to_the_store(tmp_path: Path) -> None:
    """``workbench sync`` with both kinds configured: events and a dead letter stored."""
    document = load(DATADOG / "search.json")
    document["data"][0] = _failing(document["data"][0])
    document["data"][1]["attributes"]["span_id"] = "-5"
    rows = load(NEWRELIC / "nrql_otlp_trace.json")["data"]["actor"]["account"]["nrql"]["results"]
    rows = [{**rows[0], "otel.status_code": "ERROR", "otel.status_description": "boom"},
            *rows[1:]]
    with serve(Replay(datadog_pages([json.dumps(document).encode()]))) as dd, \
            serve(Replay(newrelic_rows(rows))) as nr:
        (tmp_path / "config.toml").write_text(f"""
[[connectors]]
kind = "datadog_traces"
name = "dd-apm"
url = "{dd.url}"
api_key = "env:WB_TEST_DD_API"
app_key = "env:WB_TEST_DD_APP"
delay_seconds = 0
initial_lookback_seconds = 200000000
rules = {{ thresholds_ms = {{ "{JAVA}" = 1.5 }} }}

[[connectors]]
kind = "newrelic_traces"
name = "nr"
url = "{nr.url}"
account_id = 1234567
user_key = "env:WB_TEST_NR_KEY"
delay_seconds = 0
initial_lookback_seconds = 200000000
""")
        command = [sys.executable, "-m", "workbench", "--db", str(tmp_path / "wb.db"),
                   "--config", str(tmp_path / "config.toml")]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        check = subprocess.run([*command, "config", "check", "--secrets"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr
        sync = subprocess.run([*command, "sync"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    db = sqlite3.connect(tmp_path / "wb.db")
    stored = db.execute("SELECT dedup_key, service FROM event ORDER BY dedup_key").fetchall()
    letters = db.execute("SELECT connector, error_class FROM dead_letter").fetchall()
    db.close()
    assert [key.split(":")[0] for key, _ in stored] == ["slow_trace", "slow_trace",
                                                        "span_error", "span_error"]
    assert {service for _, service in stored} == {JAVA, "python-sample-app-spartancrimson",
                                                  "example-trace"}
    assert letters == [("dd-apm", "ValueError")]
