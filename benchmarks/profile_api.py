"""Per-request CPU of the API app in-process, without a server or a socket.

    .venv/bin/python -m benchmarks.profile_api [--requests 20000] [--rounds 5]
        [--variants off,0%,10%,100%] [--path ''] [--profile VARIANT] [--top 40]

Each variant runs in a fresh interpreter: ``benchmarks.bench_api``'s store and
the real app (:func:`workbench.api.app.create_app`, tracing started from ``OTEL_*``
like ``benchmarks.api_apps``), driven by ASGI calls shaped like uvicorn's
(httptools) on one event loop, one request at a time. Reported: CPU time per
request (``time.process_time``, min and median of the rounds, after a warm-up),
so the figures hold on a loaded machine where wall-clock ones do not. The
``baseline`` variant is ``benchmarks.api_apps``' bare Starlette app. Variants are
interleaved round by round. ``--profile V`` prints a cProfile of variant ``V``
instead (cumulative and own time of the hottest functions).

Tracing variants export OTLP/HTTP with the SDK's batch processor to
``benchmarks.bench_tracing``'s receiver (another process), as a traced server
would. Two figures: the process's CPU (what a server pinned to one core pays,
export thread included) and the request thread's own (``time.thread_time``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TRACED = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}
VARIANTS: dict[str, dict[str, str]] = {
    "baseline": {}, "off": {},
    "0%": {**TRACED, "OTEL_TRACES_SAMPLER_ARG": "0.0"},
    "10%": {**TRACED, "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "100%": {**TRACED, "OTEL_TRACES_SAMPLER_ARG": "1.0"},
}


def _app(variant: str, db: str) -> Any:
    from benchmarks.api_apps import baseline_app

    if variant == "baseline":
        return baseline_app(db)
    from storage import Store
    from workbench.api.app import create_app
    from workbench.settings.api import ApiSettings
    from workbench.telemetry.setup import start

    store = Store.open(db)
    start(None, engine=store.engine)
    settings = ApiSettings(rate_limit_per_second=1e9, rate_limit_burst=10**9)
    return create_app(store=store, settings=settings)


def _scope(path: str, token: bytes) -> dict[str, Any]:
    target, _, query = path.partition("?")
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "server": ("127.0.0.1", 18651),
            "client": ("127.0.0.1", 40000), "scheme": "http", "method": "GET",
            "root_path": "", "path": target, "raw_path": target.encode(),
            "query_string": query.encode(),
            "headers": [(b"host", b"127.0.0.1:18651"),
                        (b"authorization", b"Bearer " + token),
                        (b"user-agent", b"bench")],
            "state": {}}


async def _drive(app: Any, paths: list[str], token: bytes) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    status = [0]

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    for path in paths:
        await app(_scope(path, token), receive, send)
        if status[0] != 200:
            raise RuntimeError(f"{path}: {status[0]}")


async def _drive_concurrently(app: Any, paths: list[str], token: bytes, tasks: int) -> None:
    """``paths`` split over ``tasks`` concurrent tasks, each yielding to the loop between
    requests (as uvicorn's one task per request on many connections does)."""
    async def one(share: list[str]) -> None:
        for path in share:
            await _drive(app, [path], token)
            await asyncio.sleep(0)

    await asyncio.gather(*(one(paths[n::tasks]) for n in range(tasks)))


def child(variant: str, db: str, token: str, path: str, requests: int, rounds: int,
          events: int, profile: bool, top: int, tasks: int = 1) -> None:
    """One variant: print a JSON list of CPU microseconds per request, one per round."""
    import uvloop

    app = _app(variant, db)
    rng = random.Random(3)
    paths = [path or f"/api/events/{rng.randint(1, events)}" for _ in range(requests)]
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    secret = token.encode()

    def drive(chosen: list[str]) -> Any:
        if tasks > 1:
            return _drive_concurrently(app, chosen, secret, tasks)
        return _drive(app, chosen, secret)

    loop.run_until_complete(drive(paths[: max(500, requests // 10)]))  # warm-up
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        loop.run_until_complete(drive(paths))
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        return
    figures = []
    for _ in range(rounds):
        started, own = time.process_time(), time.thread_time()
        loop.run_until_complete(drive(paths))
        figures.append(((time.process_time() - started) / requests * 1e6,
                        (time.thread_time() - own) / requests * 1e6))
    sys.stdout.write(json.dumps(figures) + "\n")


def run_variant(variant: str, db: Path, token: str, args: argparse.Namespace,
                rounds: int, profile: bool = False) -> list[tuple[float, float]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    clean["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{args.receiver_port}"
    cmd = [sys.executable, "-m", "benchmarks.profile_api", "--child", variant, str(db), token,
           "--path", args.path, "--requests", str(args.requests), "--rounds", str(rounds),
           "--events", str(args.events), "--top", str(args.top), "--tasks", str(args.tasks)]
    if profile:
        cmd.append("--do-profile")
    out = subprocess.run(cmd, env={**clean, **VARIANTS[variant]}, check=True,
                         capture_output=not profile, text=True).stdout
    return [] if profile else [tuple(pair) for pair in json.loads(out)]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default="baseline,off,0%,10%,100%")
    parser.add_argument("--path", default="", help="'' means a random event by id")
    parser.add_argument("--profile", default=None, metavar="VARIANT")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--tasks", type=int, default=1,
                        help="concurrent tasks sharing the requests (uvicorn: connections)")
    parser.add_argument("--db", type=Path, default=None,
                        help="keep the store here and reuse it (its token beside it)")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "DB", "TOKEN"))
    parser.add_argument("--do-profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        variant, db, token = args.child
        child(variant, db, token, args.path, args.requests, args.rounds, args.events,
              args.do_profile, args.top, args.tasks)
        return 0
    from benchmarks.bench_api import build_db
    from benchmarks.bench_tracing import receiver

    with tempfile.TemporaryDirectory() as tmp, receiver(False) as port:
        args.receiver_port = port
        db = args.db or Path(tmp) / "profile.db"
        saved = db.with_suffix(".token")
        if db.exists() and saved.exists():
            token = saved.read_text()
        else:
            token = build_db(db, args.events)
            saved.write_text(token)
        if args.profile:
            run_variant(args.profile, db, token, args, 1, profile=True)
            return 0
        variants = args.variants.split(",")
        figures: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
        for _ in range(args.rounds):  # interleaved: one process per variant per round
            for variant in variants:
                figures[variant].extend(run_variant(variant, db, token, args, 1))
        with open("/proc/loadavg") as f:
            loadavg = f.read().split()[:3]
        sys.stdout.write(f"path {args.path or '/api/events/{id}'}; {args.requests:,} "
                         f"requests x {args.rounds} rounds; {args.tasks} task(s); "
                         f"load {' '.join(loadavg)}\n")
        anchor = statistics.median(p for p, _ in figures["off"]) if "off" in figures else None
        for variant, values in figures.items():
            med = statistics.median(p for p, _ in values)
            own = statistics.median(t for _, t in values)
            ratio = f"  {anchor / med:.2f}x of off" if anchor else ""
            sys.stdout.write(f"  {variant:<9} CPU/request median {med:7.1f} us "
                             f"(min {min(p for p, _ in values):6.1f}; request thread "
                             f"{own:6.1f}){ratio}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
