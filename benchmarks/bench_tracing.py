"""API throughput with tracing off, at 10% and at 100% sampling (issue 14's budget).

    .venv/bin/python -m benchmarks.bench_tracing [--events 200000] [--duration 10] [--reps 3]

The servers are ``benchmarks.bench_api``'s workbench app, started three times with
different ``OTEL_*`` variables only: off (no variable), ``parentbased_traceidratio``
at 0.1 and at 1.0, both with the SDK's batch processor exporting OTLP/HTTP to a
receiver process on loopback (it parses each request and counts the spans, so
the export is real). Same load, interleaved repeats, medians; the ratio of each
traced variant to the untraced one of the same run is printed (goal at 10%:
>= 0.85x). Start-up (``import`` of the serve path plus ``start()``) is timed off
and on, in fresh interpreters.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.bench_api import LOAD_CPU, SCENARIOS, SERVER_CPU, Sample, build_db, load

GOAL_10 = 0.85
VARIANTS: dict[str, dict[str, str]] = {
    "off": {},
    "traced 10%": {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                   "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "traced 100%": {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                    "OTEL_TRACES_SAMPLER_ARG": "1.0"},
}


def receive_forever() -> None:
    """An OTLP/HTTP traces receiver: parse each export, count spans, answer 200."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    spans = [0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportTraceServiceRequest.FromString(body)
            spans[0] += sum(len(s.spans) for r in request.resource_spans
                            for s in r.scope_spans)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            body = str(spans[0]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sys.stdout.write(f"{server.server_address[1]}\n")
    sys.stdout.flush()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin


@contextmanager
def receiver(pin: bool) -> Iterator[int]:
    """The receiver in its own process (on the load generator's CPU); yields its port."""
    cmd = [sys.executable, "-m", "benchmarks.bench_tracing", "--receiver"]
    if pin:
        cmd = ["taskset", "-c", LOAD_CPU, *cmd]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


def spans_received(port: int) -> int:
    """How many spans the receiver has parsed so far."""
    import httpx

    return int(httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text)


@contextmanager
def traced_server(db: Path, env: dict[str, str], pin: bool) -> Iterator[tuple[int, int]]:
    """``benchmarks.api_apps workbench`` with extra environment; yields (port, pid)."""
    cmd = [sys.executable, "-m", "benchmarks.api_apps", "workbench", str(db)]
    if pin:
        cmd = ["taskset", "-c", SERVER_CPU, *cmd]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**clean, **env})
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline()), proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def run(events: int, duration: float, reps: int, conns: int, db_dir: Path, pin: bool
        ) -> tuple[dict[str, dict[str, list[Sample]]], int]:
    """Every scenario on every variant, interleaved; returns samples and spans received."""
    db = db_dir / f"bench-{events}.db"
    token = build_db(db, events)
    samples: dict[str, dict[str, list[Sample]]] = {s: {v: [] for v in VARIANTS}
                                                   for s in SCENARIOS}
    with receiver(pin) as port:
        otlp = {"OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}
        with (traced_server(db, {}, pin) as off,
              traced_server(db, {**otlp, **VARIANTS["traced 10%"]}, pin) as ten,
              traced_server(db, {**otlp, **VARIANTS["traced 100%"]}, pin) as full):
            servers = {"off": off, "traced 10%": ten, "traced 100%": full}
            for target in servers.values():  # warm-up, discarded
                load(target, "", events, token, min(2.0, duration), conns, pin)
            for _ in range(reps):
                for scenario, path in SCENARIOS.items():
                    for variant, target in servers.items():
                        samples[scenario][variant].append(
                            load(target, path, events, token, duration, conns, pin))
            time.sleep(6)  # the batch processor's schedule delay is 5 s: let it export
            received = spans_received(port)
    return samples, received


def report(samples: dict[str, dict[str, list[Sample]]]) -> dict[str, dict[str, float]]:
    """Print figures and ratios to the untraced server; return the ratios."""
    ratios: dict[str, dict[str, float]] = {}
    for scenario, by_variant in samples.items():
        med = {v: statistics.median(s.rps for s in runs) for v, runs in by_variant.items()}
        cpu = {v: statistics.median(s.cpu_us_per_request or 0 for s in runs)
               for v, runs in by_variant.items()}
        sys.stdout.write(f"\n{scenario}\n")
        ratios[scenario] = {}
        for variant, runs in by_variant.items():
            per = " / ".join(f"{s.rps:,.0f}" for s in runs)
            ratio = med[variant] / med["off"]
            cpu_ratio = cpu["off"] / cpu[variant] if cpu[variant] else 0.0
            ratios[scenario][variant] = ratio
            goal = f"  (goal >= {GOAL_10:.2f}x)" if variant == "traced 10%" else ""
            sys.stdout.write(f"  {variant:<12} {per:<26} median {med[variant]:>8,.0f} req/s  "
                             f"server CPU {cpu[variant]:>5.0f} us/req  "
                             f"ratio {ratio:.2f}x (CPU {cpu_ratio:.2f}x){goal}\n")
    return ratios


STARTUP = """
import time
t = time.perf_counter()
from workbench.cli import serve
from workbench.api import app
from workbench.config import parse_config
config = parse_config("")
try:
    from workbench.telemetry.setup import start
except ImportError:  # a baseline tree from before telemetry
    start = None
if start is not None:
    start(config.telemetry)
print(time.perf_counter() - t)
"""


def startup(variants: dict[str, tuple[dict[str, str], str | None]], reps: int
            ) -> dict[str, float]:
    """Median seconds to import the serve path and start telemetry, per variant.

    Each variant is (extra environment, source tree or None for this one); fresh
    interpreters, interleaved.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, (env, tree) in variants.items():
            extra = {"PYTHONPATH": tree} if tree else {}
            out = subprocess.run([sys.executable, "-c", STARTUP], capture_output=True,
                                 text=True, check=True, env={**clean, **env, **extra},
                                 cwd=tree or None).stdout
            times[name].append(float(out))
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--startup-baseline", type=Path, default=None, metavar="TREE",
                        help="also time start-up of this source tree (e.g. an export of "
                             "the commit before telemetry)")
    parser.add_argument("--startup-only", action="store_true")
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        receive_forever()
        return 0
    if not args.startup_only:
        bench_api_load(args)
    variants: dict[str, tuple[dict[str, str], str | None]] = {
        "off": ({}, None), "on (console exporter)": ({"OTEL_TRACES_EXPORTER": "console"}, None)}
    if args.startup_baseline is not None:
        variants["baseline tree"] = ({}, str(args.startup_baseline.resolve()))
    medians = startup(variants, 9)
    sys.stdout.write("start-up (import the serve path and the API, parse the config, start "
                     "telemetry; median of 9 fresh interpreters, interleaved):\n")
    for name, value in medians.items():
        sys.stdout.write(f"  {name:<22} {value * 1000:6.0f} ms\n")
    return 0


def bench_api_load(args: argparse.Namespace) -> None:
    """The throughput part: three servers, one load, ratios to the untraced server."""
    pin = not args.no_pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) > 1
    sys.stdout.write(f"loader: {'wrk' if shutil.which('wrk') else 'asyncio'}; pinned: {pin}; "
                     f"events: {args.events:,}; {args.connections} connections; "
                     f"{args.duration}s x {args.reps} interleaved\n")
    with tempfile.TemporaryDirectory() as tmp:
        samples, received = run(args.events, args.duration, args.reps, args.connections,
                                Path(tmp), pin)
    report(samples)
    sys.stdout.write(f"\nspans received by the OTLP receiver: {received:,}\n")


if __name__ == "__main__":
    raise SystemExit(main())
