"""UI-loop lateness while the in-process API is saturated (issue 6, performance.md §4.5).

    .venv/bin/python -m benchmarks.bench_api_ui [--events 20000] [--duration 8]

A 60 Hz asyncio timer on the main thread stands in for the TUI's loop: each tick
formats 50 lines, and we record how late each tick fires. The API runs (a) in a
side thread of this process, uncapped, (b) in a side thread with uvicorn's
``limit_concurrency`` (``[api] limit_concurrency``), (c) in its own process
(``workbench serve``). wrk loads ``GET /api/events/{id}`` from the other core with
64 connections. Goal: tick lateness p99 <= 16.7 ms (one frame).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.bench_api import LUA, build_db

FRAME = 1 / 60


async def tick_lateness(seconds: float) -> list[float]:
    """Lateness (ms) of each 60 Hz tick that does a little formatting work."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    deadline = loop.time() + seconds
    due = loop.time() + FRAME
    while due < deadline:
        await asyncio.sleep(max(0.0, due - loop.time()))
        late.append(max(0.0, (loop.time() - due) * 1000))
        _lines = [f"{i:>6} | {'event title ' * 3} | {i * 7 % 13}" for i in range(50)]
        due += FRAME
    return late


@contextmanager
def in_thread(db: Path, limit: int | None) -> Iterator[int]:
    """The API in a side thread of this process; yields its port."""
    from storage import Store
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer
    from workbench.settings.api import ApiSettings

    settings = ApiSettings(port=0, limit_concurrency=limit, rate_limit_per_second=1e9,
                           rate_limit_burst=10**9)
    store = Store.open(db)
    server = ApiServer(create_app(store=store, settings=settings), settings).start()
    try:
        yield server.port
    finally:
        server.stop()
        store.close()


@contextmanager
def in_process(db: Path) -> Iterator[int]:
    """The API in its own process (what ``workbench serve`` does), free to use the other core."""
    proc = subprocess.Popen(["taskset", "-c", "1", sys.executable, "-m", "benchmarks.api_apps",
                             "workbench", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


def measure(port: int | None, token: str, events: int, duration: float) -> tuple[list[float],
                                                                                 str]:
    """Tick lateness with wrk loading ``port`` (None: idle)."""
    wrk = None
    if port is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA.replace("{n}", str(events)).replace("{path}", ""))
        wrk = subprocess.Popen(
            ["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{int(duration) + 1}s",
             "-H", f"Authorization: Bearer {token}", "-s", script.name,
             f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # let the load ramp up before the first tick is measured
    late = asyncio.run(tick_lateness(duration))
    summary = ""
    if wrk is not None:
        out, _ = wrk.communicate()
        summary = next((line.strip() for line in out.splitlines()
                        if line.startswith("Requests/sec")), "")
    return late, summary


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None or (os.cpu_count() or 1) < 2:
        sys.stderr.write("needs wrk and two cores\n")
        return 2
    os.sched_setaffinity(0, {0})  # the "UI" process (and its API thread) on core 0
    # As in the TUI, nothing may print: uvicorn's warnings would otherwise reach stderr.
    logging.getLogger("uvicorn").addHandler(logging.NullHandler())
    logging.getLogger("uvicorn").propagate = False
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ui.db"
        token = build_db(db, args.events)
        rows = [("idle", *measure(None, token, args.events, args.duration))]
        for label, limit in (("thread, uncapped", None), ("thread, limit_concurrency=4", 4)):
            with in_thread(db, limit) as port:
                rows.append((label, *measure(port, token, args.events, args.duration)))
        with in_process(db) as port:
            rows.append(("own process (workbench serve)",
                         *measure(port, token, args.events, args.duration)))
    sys.stdout.write(f"{'API placement':<32} {'p50':>7} {'p99':>7} {'max':>7}  (ms late)   load\n")
    for label, late, load in rows:
        q = statistics.quantiles(late, n=100)
        sys.stdout.write(f"{label:<32} {q[49]:7.2f} {q[98]:7.2f} {max(late):7.2f}   {load}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
