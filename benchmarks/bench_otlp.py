"""OTLP trace ingest: spans/s through the receiver pipeline vs a bare decode + executemany.

Data: N spans (default 1M = 100k traces x 10 spans, 1% failing, 1% slow roots), as
OTLP ``ExportTraceServiceRequest`` protobuf bodies of ``--per-request`` spans, as an
SDK's batch processor would send them.

Anchor (A): ``ExportTraceServiceRequest.FromString`` + one tuple per span + raw
``sqlite3.executemany`` into a span table, one transaction per request.
Project (P): what ``POST /v1/traces`` does after reading the body -- decode through
the official messages with id validation, the trace detector (errors, per-operation
thresholds, trace buffering, critical paths), and ``Store.ingest`` of the resulting
events (one transaction per request) into a fresh SQLite store. HTTP is not timed.

Interleaved A, P; medians of ``--reps``; ratio of spans/s P/A (no fixed goal: the
issue asks for the figure and the ratio).

    .venv/bin/python benchmarks/bench_otlp.py 1000000 --reps 3
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.traces.detect import TraceDetector  # noqa: E402
from connectors.traces.otlp import decode_protobuf  # noqa: E402
from connectors.traces.rules import TraceRules  # noqa: E402
from storage import Store  # noqa: E402

SPANS_PER_TRACE = 10
T0 = 1_800_000_000_000_000_000
MS = 1_000_000


def make_bodies(spans: int, per_request: int, seed: int = 5) -> list[bytes]:
    """Serialised export requests holding ``spans`` spans in whole traces."""
    rng = random.Random(seed)
    traces_per_request = max(1, per_request // SPANS_PER_TRACE)
    bodies: list[bytes] = []
    trace_no = 0
    while trace_no * SPANS_PER_TRACE < spans:
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        attr = rs.resource.attributes.add()
        attr.key, attr.value.string_value = "service.name", f"svc-{len(bodies) % 8}"
        scope = rs.scope_spans.add()
        for _ in range(traces_per_request):
            if trace_no * SPANS_PER_TRACE >= spans:
                break
            _add_trace(scope.spans, trace_no, rng)
            trace_no += 1
        bodies.append(request.SerializeToString())
    return bodies


def _add_trace(spans: object, trace_no: int, rng: random.Random) -> None:
    trace_id = (trace_no + 1).to_bytes(16, "big")
    start = T0 + trace_no * 1000 * MS
    slow = rng.random() < 0.01
    duration = (2000 if slow else rng.randint(50, 200)) * MS
    root_id = (trace_no * 16 + 1).to_bytes(8, "big")
    for i in range(SPANS_PER_TRACE):
        span = spans.add()  # type: ignore[attr-defined]
        span.trace_id = trace_id
        span.span_id = root_id if i == 0 else (trace_no * 16 + 1 + i).to_bytes(8, "big")
        if i:
            span.parent_span_id = root_id
        span.name = "GET /checkout" if i == 0 else f"db.query.{i}"
        span.kind = 2 if i == 0 else 3
        child_start = start + i * duration // (SPANS_PER_TRACE + 1)
        span.start_time_unix_nano = start if i == 0 else child_start
        span.end_time_unix_nano = start + duration if i == 0 else \
            child_start + duration // (SPANS_PER_TRACE + 1)
        attr = span.attributes.add()
        attr.key, attr.value.string_value = "http.route", "/checkout"
        if i == 3 and rng.random() < 0.1:   # ~1% of spans fail
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = "upstream timeout"
            event = span.events.add()
            event.name = "exception"
            for key, value in (("exception.type", "TimeoutError"),
                               ("exception.message", "timed out"),
                               ("exception.stacktrace", "Traceback (most recent call last)")):
                kv = event.attributes.add()
                kv.key, kv.value.string_value = key, value


def run_anchor(bodies: list[bytes], db: Path) -> int:
    """Bare decode + executemany of every span."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "CREATE TABLE span (trace_id TEXT, span_id TEXT, parent_id TEXT,"
                       " service TEXT, name TEXT, start_ns INTEGER, end_ns INTEGER,"
                       " status INTEGER, PRIMARY KEY (trace_id, span_id))")
    count = 0
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        rows = []
        for rs in request.resource_spans:
            service = rs.resource.attributes[0].value.string_value
            for ss in rs.scope_spans:
                for s in ss.spans:
                    rows.append((s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(),
                                 service, s.name, s.start_time_unix_nano, s.end_time_unix_nano,
                                 s.status.code))
        conn.execute("BEGIN")
        conn.executemany("INSERT OR IGNORE INTO span VALUES (?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
        count += len(rows)
    conn.close()
    return count


def run_project(bodies: list[bytes], db: Path) -> tuple[int, int]:
    """Decode + detect + store events, per request; returns (spans, events stored)."""
    store = Store.open(db)
    detector = TraceDetector(TraceRules(
        thresholds_ms={f"svc-{i}/GET /checkout": 1000 for i in range(8)}))
    spans = stored = 0
    for body in bodies:
        decoded = decode_protobuf(body)
        events = detector.observe(decoded.spans)
        spans += len(decoded.spans)
        if events:
            stored += store.ingest(events, connector=None).stored
    store.close()
    return spans, stored


def run_http(bodies: list[bytes], db: Path) -> int:
    """The same bodies POSTed to ``/v1/traces`` of the receivers router under uvicorn;
    returns the events stored."""
    import socket
    import threading

    import httpx
    import uvicorn
    from fastapi import FastAPI

    from workbench.api.routes.receivers import router
    from workbench.settings.receivers import ReceiverSettings

    store = Store.open(db)
    app = FastAPI()
    app.state.store = store
    os.environ["WB_BENCH_OTLP_TOKEN"] = "bench-token"
    app.state.receivers = ReceiverSettings(otlp_token="env:WB_BENCH_OTLP_TOKEN", traces=TraceRules(
        thresholds_ms={f"svc-{i}/GET /checkout": 1000 for i in range(8)}))
    app.include_router(router)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/traces"
    try:
        with httpx.Client(headers={"Content-Type": "application/x-protobuf",
                                   "Authorization": "Bearer bench-token"}) as client:
            for body in bodies:
                client.post(url, content=body).raise_for_status()
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
    stored = sum(store.count_events("kind").values())
    store.close()
    return stored


def _span_count(body: bytes) -> int:
    request = ExportTraceServiceRequest.FromString(body)
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; returns spans/s medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spans", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--per-request", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--http", action="store_true",
                        help="also time the receiver over loopback HTTP (uvicorn, one client)")
    args = parser.parse_args(argv)
    bodies = make_bodies(args.spans, args.per_request)
    sys.stdout.write(f"{len(bodies)} requests, {sum(map(len, bodies)) / 2**20:.1f} MiB\n")
    rates: dict[str, list[float]] = {"anchor": [], "project": []}
    if args.http:
        rates["project over HTTP"] = []
    spans_total = sum(_span_count(b) for b in bodies)
    events = 0
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for rep in range(args.reps):
            start = time.perf_counter()
            count = run_anchor(bodies, Path(tmp) / f"anchor{rep}.db")
            rates["anchor"].append(count / (time.perf_counter() - start))
            start = time.perf_counter()
            count, events = run_project(bodies, Path(tmp) / f"project{rep}.db")
            rates["project"].append(count / (time.perf_counter() - start))
            if args.http:
                start = time.perf_counter()
                run_http(bodies, Path(tmp) / f"http{rep}.db")
                rates["project over HTTP"].append(spans_total / (time.perf_counter() - start))
    medians = {k: statistics.median(v) for k, v in rates.items()}
    for role, samples in rates.items():
        sys.stdout.write(orjson.dumps({
            "scenario": f"otlp {args.spans} spans", "variant": role,
            "role": "anchor" if role == "anchor" else "project",
            "value": round(medians[role]), "unit": "spans/s",
            "reps": [round(r) for r in samples],
            "machine": {"python": platform.python_version(),
                        "sqlite": sqlite3.sqlite_version}}).decode() + "\n")
    ratio = medians["project"] / medians["anchor"]
    sys.stdout.write(f"events stored: {events}; ratio project/anchor = {ratio:.2f}x\n")
    return {"rates": medians, "ratio": ratio, "events": events}


if __name__ == "__main__":
    main()
