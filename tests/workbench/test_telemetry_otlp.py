"""A real ``workbench serve`` exports its own spans over OTLP/HTTP to a loopback receiver.

Only the standard ``OTEL_*`` variables turn tracing on. A fake Alertmanager fails the
first poll with 503 (a retried attempt) and then answers with one alert; the test
asserts the poll, its outgoing HTTP calls, the ingest batch and the SQL under it;
an API request carrying a client's ``traceparent`` joins the client's trace and
reaches the store.
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from storage import Store
from storage.tokens import create_token
from tests.network import payloads

TIMEOUT = 60.0
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


def _wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a condition with a deadline, not a fixed wait


class Receiver:
    """An OTLP/HTTP traces receiver and a flaky Alertmanager on one loopback server."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Span]] = []
        self.alert_calls: list[dict[str, str]] = []
        self.lock = threading.Lock()
        alert = payloads.alertmanager_webhook()["alerts"][0]
        del alert["status"]
        self.alerts = [{**alert, "updatedAt": alert["startsAt"], "receivers": [{"name": "wb"}],
                        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                with receiver.lock:
                    for resource_spans in request.resource_spans:
                        resource = {a.key: a.value.string_value
                                    for a in resource_spans.resource.attributes}
                        for scope in resource_spans.scope_spans:
                            receiver.spans.extend((resource, s) for s in scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                with receiver.lock:
                    receiver.alert_calls.append(dict(self.headers))
                    first = len(receiver.alert_calls) == 1
                body = b"{}" if first else orjson.dumps(receiver.alerts)
                self.send_response(503 if first else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def named(self, name: str) -> list[Span]:
        with self.lock:
            return [s for _, s in self.spans if s.name == name]


def _attrs(span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in span.attributes:
        which = a.value.WhichOneof("value")
        out[a.key] = getattr(a.value, which) if which else None
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.mark.slow
def test_serve_exports_request_poll_and_ingest_spans(tmp_path: Path,
                                                     receiver: Receiver) -> None:
    db = tmp_path / "wb.db"
    store = Store.open(db)
    with store.write() as session:
        _, token = create_token(session=session, name="viewer", role="viewer")
    store.close()
    config = tmp_path / "workbench.toml"
    config.write_text(
        "[api]\nport = 0\n\n[[connectors]]\nkind = \"alertmanager\"\nname = \"am\"\n"
        f"url = \"{receiver.url}\"\ninterval_seconds = 0.2\n"
        "[connectors.retry]\nbase_seconds = 0.01\nmax_wait_seconds = 0.05\n")
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "otlp",
           "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100",
           "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test"}
    env.pop("OTEL_SDK_DISABLED", None)
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--db", str(db), "--config",
                             str(config), "serve", "--log-file", str(tmp_path / "serve.log"),
                             "--log-format", "json"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        found = re.search(r"api: (http://\S+?)[;)]", ready)
        assert found, ready
        url = found.group(1)
        headers = {"Authorization": f"Bearer {token}",
                   "traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"}
        _wait(lambda: httpx.get(url + "/api/events", headers=headers).json()["items"] != [],
              "the alert stored")
        assert httpx.get(url + "/api/events/999999", headers=headers).status_code == 404
        assert httpx.get(url + "/api/investigations", headers=headers).status_code == 200
        _wait(lambda: any(_attrs(s).get("workbench.records.stored") == 1
                          for s in receiver.named("connector.poll")), "the poll span")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    with receiver.lock:
        spans = [s for _, s in receiver.spans]
        resources = [r for r, _ in receiver.spans]
    by_id = {s.span_id: s for s in spans}

    def children(parent: Span, name: str | None = None) -> list[Span]:
        return [s for s in spans if s.parent_span_id == parent.span_id
                and (name is None or s.name == name)]

    assert {r["service.name"] for r in resources} == {"workbench"}
    assert len({r["service.instance.id"] for r in resources}) == 1
    assert {r["deployment.environment.name"] for r in resources} == {"test"}

    # The API request joined the client's trace, named by its route template.
    requests = [s for s in receiver.named("GET /api/events") if s.trace_id.hex() == CLIENT_TRACE]
    assert requests, sorted({s.name for s in spans})
    request = requests[-1]
    assert request.parent_span_id.hex() == CLIENT_SPAN
    assert request.kind == Span.SPAN_KIND_SERVER
    attributes = _attrs(request)
    assert attributes["http.route"] == "/api/events"
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    # /api/events reads through the driver (workbench.api.hot); this one through the ORM.
    [listing] = receiver.named("GET /api/investigations")
    assert listing.trace_id.hex() == CLIENT_TRACE
    assert children(listing, "SELECT"), "the request reached the store"
    [missing] = receiver.named("GET /api/events/{event_id}")
    assert _attrs(missing)["http.response.status_code"] == 404
    assert missing.status.code != missing.status.STATUS_CODE_ERROR  # 4xx: not a server error

    # The poll that stored the alert: retried once, two HTTP calls, one ingest batch.
    [poll] = [s for s in receiver.named("connector.poll")
              if _attrs(s).get("workbench.records.stored") == 1]
    attributes = _attrs(poll)
    assert attributes["workbench.connector.name"] == "am"
    assert attributes["workbench.connector.kind"] == "alertmanager"
    assert attributes["workbench.breaker.state"] == "closed"
    assert attributes["workbench.records.received"] == 1
    assert attributes["workbench.records.deduplicated"] == 0
    assert attributes["workbench.records.dead_lettered"] == 0
    [retry] = [e for e in poll.events if e.name == "retry"]
    assert {a.key: a.value for a in retry.attributes}["error.type"].string_value
    calls = children(poll, "GET")
    assert [_attrs(c)["http.response.status_code"] for c in calls] == [503, 200]
    assert calls[0].status.code == calls[0].status.STATUS_CODE_ERROR
    assert all(c.kind == Span.SPAN_KIND_CLIENT for c in calls)
    assert "?" not in _attrs(calls[1])["url.full"]  # no query string recorded
    # The source received the poll's trace context on both attempts.
    sent = [h.get("traceparent", "") for h in receiver.alert_calls[:2]]
    assert [t.split("-")[1] for t in sent] == [poll.trace_id.hex()] * 2
    assert [t.split("-")[2] for t in sent] == [c.span_id.hex() for c in calls]
    [batch] = children(poll, "ingest.batch")
    assert _attrs(batch)["workbench.records.stored"] == 1
    inserts = children(batch, "INSERT")
    assert inserts and all("?" in _attrs(s)["db.query.text"] or "%(" in _attrs(s)["db.query.text"]
                           for s in inserts)
    assert all(s.parent_span_id in by_id or s.parent_span_id.hex() == CLIENT_SPAN
               or not s.parent_span_id for s in spans)

    # The JSON log lines carry the trace of the span that was active.
    lines = [orjson.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()]
    assert lines and all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)


def _serve(db: Path, config: Path, log: Path, env: dict[str, str]
           ) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--db", str(db), "--config",
                             str(config), "serve", "--log-file", str(log)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    found = re.search(r"api: (http://\S+?)[;)]", ready)
    assert found, ready
    return proc, found.group(1)


@pytest.mark.slow
def test_a_second_workbench_receives_the_first_ones_failing_calls(
        tmp_path: Path, receiver: Receiver) -> None:
    """Dogfooding: instance A exports to instance B's own ``/v1/traces``; B stores A's
    failed HTTP call to its source as a span error of service ``workbench``."""
    tokens = {}
    for name in ("a", "b"):
        store = Store.open(tmp_path / f"{name}.db")
        with store.write() as session:
            _, tokens[name] = create_token(session=session, name=name, role="responder")
        store.close()
    (tmp_path / "b.toml").write_text("[api]\nport = 0\n")
    (tmp_path / "a.toml").write_text(
        "[api]\nport = 0\n\n[[connectors]]\nkind = \"alertmanager\"\nname = \"am\"\n"
        f"url = \"{receiver.url}\"\ninterval_seconds = 0.2\n"
        "[connectors.retry]\nbase_seconds = 0.01\nmax_wait_seconds = 0.05\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    started: list[subprocess.Popen[str]] = []
    try:
        b, b_url = _serve(tmp_path / "b.db", tmp_path / "b.toml", tmp_path / "b.log", clean)
        started.append(b)
        a, _ = _serve(tmp_path / "a.db", tmp_path / "a.toml", tmp_path / "a.log", {
            **clean, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": b_url,
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{tokens['b']}",
            "OTEL_BSP_SCHEDULE_DELAY": "100"})
        started.append(a)
        viewer = httpx.Client(base_url=b_url, timeout=30,
                              headers={"Authorization": f"Bearer {tokens['b']}"})

        def errors() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = viewer.get(
                "/api/events", params={"source": "traces"}).json()["items"]
            return [e for e in items if e["service"] == "workbench"]

        _wait(lambda: errors() != [], "A's failing call stored in B")
        [event] = errors()
        assert event["kind"] == "span_error"
        assert "503" in orjson.dumps(event).decode()
        assert event["trace_id"] and len(event["trace_id"]) == 32
    finally:
        for proc in reversed(started):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
