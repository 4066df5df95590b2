"""TUI benchmarks, each against a baseline measured in the same run.

0. Start-up as a user sees it (issue 11): the real ``workbench`` command (the API beside
   it, as by default) on the demo store in a pty at 80x24 -- seconds from spawn until
   the list's first row is on the terminal, and until the top suspect is after an Enter
   typed as soon as that row shows -- against a bare Textual app's first screen in the
   same pty (interleaved, median). Goals: first screen <= 2x the bare app, launch to
   suspect <= 1 s.
1. Cold start to first paint of the investigation list on an N-event store, headless:
   the app class alone (no CLI, config or runtime), against a bare Textual app, both
   timed from spawn to the first paint (not to exit), for RSS and the cost of N events.
2. First paint after a filter change, and render time per frame while scrolling the
   all-events timeline, at 1k and at N events.
3. RSS after first paint: empty store vs N events.
4. Bytes written to a real pty per ``j`` keystroke on the list at 80x24, next to the
   bytes of one full redraw.
5. A big investigation (half of the N events linked): seconds from opening it to its
   linked timeline painted, RSS after opening, CPU used while idle on it (polls on),
   and seconds for a newly linked event to appear; against a small investigation
   (50 linked events) of the same store, measured in the same run.

Usage: ``python -m benchmarks.bench_tui [--events 1000000] [--smoke] [--only big|start]``.
The N-event database is built once through the store's ingest path and cached under
/tmp; the big-investigation copy of it is cached beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.worker import WorkerCancelled

CHILD = "--child"


SPAWNED = "BENCH_TUI_SPAWNED"
"""The parent's wall clock at spawn: the child times its first paint from there."""


def _child(kind: str, db: str) -> None:
    """In a fresh process: run until first paint, print seconds from spawn to it and max RSS.

    Not the parent's spawn-to-exit wall time: that adds each app's shutdown."""
    began = time.perf_counter()
    spawned = float(os.environ[SPAWNED])
    painted: list[float] = []
    if kind == "bare":
        from textual.app import App, ComposeResult
        from textual.widgets import Static

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("hello")

            def on_mount(self) -> None:
                self.call_after_refresh(self._painted)

            def _painted(self) -> None:
                painted.append(time.time() - spawned)
                self.exit()

        Bare().run(headless=True, size=(80, 24))
    else:
        from storage import Store
        from workbench.tui.app import WorkbenchApp

        class FirstPaint(WorkbenchApp):
            """Exits right after the list has been painted with data."""

            def on_mount(self) -> None:
                super().on_mount()
                self.set_interval(0.002, self._check)

            def _check(self) -> None:
                if getattr(self.screen, "loaded_once", False) and not painted:
                    self.call_after_refresh(self._painted)

            def _painted(self) -> None:
                painted.append(time.time() - spawned)
                self.exit()

        FirstPaint(Store.open(db), live=False).run(headless=True, size=(80, 24))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    sys.stdout.write(json.dumps({"seconds": time.perf_counter() - began,
                                 "first_paint": painted[0],
                                 "cpu": usage.ru_utime + usage.ru_stime,
                                 "rss_kib": peak_rss_kib()}))


def peak_rss_kib(pid: str = "self") -> int:
    """The process's own peak resident set (VmHWM), in KiB.

    Not ``ru_maxrss``: Linux keeps that across ``exec``, so a child started by a big
    parent reports the parent's peak. VmHWM belongs to the address space, which
    ``exec`` replaces.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc status")


def _spawn(kind: str, db: str, *extra: str) -> dict[str, float]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_tui", CHILD, kind, db,
                           *extra], check=False, capture_output=True, text=True,
                          env={**os.environ, SPAWNED: repr(time.time())})
    if done.returncode:  # a signal shows as a negative code; Textual may print to stdout
        raise RuntimeError(f"{kind} child failed (exit status {done.returncode}):\n"
                           f"stderr: {done.stderr[-3000:]}\nstdout: {done.stdout[-3000:]}")
    out = done.stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - began
    return result


BARE_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App[None]):
    def compose(self):
        yield Static("a bare textual app")

Bare().run()
"""
"""The baseline of :func:`start_in_pty`: Textual's smallest app, run as ``python -c``."""
DEMO_ROW = b"Checkout payments"
"""Start of the demo investigation's title: its row in the list is on the terminal."""
SUSPECT = b"top suspect"
"""The investigation's head names the top suspect (``workbench.tui.screens.investigation``)."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process (all its threads) has used so far: under
    load, wall time measures the scheduler; CPU time what the program costs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _compile_packages() -> None:
    """Bytecode for the project's modules, as an installed wheel has: with
    ``PYTHONDONTWRITEBYTECODE`` set (as on the machines this ran on) an editable install
    compiles every module from source at each start (0.1-0.15 s of CPU measured),
    which no installed copy pays."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("storage", "connectors", "workbench"):
        compileall.compile_dir(root / package, quiet=1)


def _demo_store(directory: Path) -> Path:
    from storage import Store
    from workbench.demo import load_demo

    store = Store.open(directory / "pristine.db")
    try:
        load_demo(store)
    finally:
        store.close()
    return directory / "pristine.db"


def start_in_pty(reps: int) -> dict[str, Any]:
    """The real ``workbench`` on the demo store in a pty at 80x24 against a bare Textual app
    (see the module docstring, item 0). Each run gets a fresh copy of the demo store, so
    no saved place of the last run's user is restored, and an empty config (the API on
    an ephemeral port beside the TUI, as ``workbench`` runs it by default)."""
    from tests.tui.ptyrun import KEYS, PtyApp

    _compile_packages()
    work = Path(tempfile.mkdtemp(prefix="bench-start-"))
    pristine = _demo_store(work)
    config = work / "config.toml"
    config.write_text("[api]\nport = 0\n")
    runs: dict[str, list[float]] = {k: [] for k in (
        "bare", "first_screen", "suspect", "bare_cpu", "first_screen_cpu", "suspect_cpu")}
    load = [os.getloadavg()[0]]
    for rep in range(reps):  # interleaved so drift hits both alike
        bare = PtyApp(pristine, python_args=["-c", BARE_APP])
        try:
            bare.wait_for(b"a bare textual app", settle=False)
            runs["bare"].append(time.monotonic() - bare.started)
            runs["bare_cpu"].append(cpu_seconds(bare.proc.pid))
        finally:
            bare.close()
        db = work / f"demo{rep}.db"
        shutil.copy(pristine, db)
        app = PtyApp(db, "--config", str(config), api=True)
        try:
            app.wait_for(DEMO_ROW, settle=False)
            runs["first_screen"].append(time.monotonic() - app.started)
            runs["first_screen_cpu"].append(cpu_seconds(app.proc.pid))
            mark = len(app.output)
            os.write(app.master, KEYS["enter"])
            app.wait_for(SUSPECT, settle=False, since=mark)
            runs["suspect"].append(time.monotonic() - app.started)
            runs["suspect_cpu"].append(cpu_seconds(app.proc.pid))
        finally:
            app.close()
    load.append(os.getloadavg()[0])
    shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in runs.items()}
    return {"seconds": med, "runs": runs, "load_avg_1m_before_after": load,
            "ratio_first_screen_vs_bare": med["first_screen"] / med["bare"],
            "cpu_ratio_first_screen_vs_bare": med["first_screen_cpu"] / med["bare_cpu"],
            "goal_ratio_le_2": med["first_screen"] / med["bare"] <= 2.0,
            "goal_launch_to_suspect_le_1s": med["suspect"] <= 1.0}


def cold_start(db: str, empty: str, reps: int) -> dict[str, Any]:
    """Seconds from spawn to first paint (headless app class), CPU and RSS."""
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "empty": [], "big": []}
    for _ in range(reps):  # interleaved so drift hits all variants alike
        runs["bare"].append(_spawn("bare", empty))
        runs["empty"].append(_spawn("wb", empty))
        runs["big"].append(_spawn("wb", db))
    med = {k: statistics.median(r["first_paint"] for r in v) for k, v in runs.items()}
    rss = {k: statistics.median(r["rss_kib"] for r in v) / 1024 for k, v in runs.items()}
    cpu = {k: statistics.median(r["cpu"] for r in v) for k, v in runs.items()}
    return {"first_paint_s": med, "ratio_big_vs_bare": med["big"] / med["bare"],
            "cpu_s": cpu, "cpu_ratio_big_vs_bare": cpu["big"] / cpu["bare"],
            "rss_mib": rss, "rss_growth_mib": rss["big"] - rss["empty"]}


async def _scroll_and_filter(db: str, frames: int) -> dict[str, float]:
    from storage import Store
    from workbench.tui.app import WorkbenchApp

    store = Store.open(db)
    app = WorkbenchApp(store, live=False, user=f"bench-{time.time_ns()}")  # nothing to restore
    async with app.run_test(size=(80, 24)) as pilot:
        while not getattr(app.screen, "loaded_once", False):
            await pilot.pause(0.001)
        await pilot.press("A")
        await _until(pilot, lambda: bool(_shown(app)))
        screen: Any = app.screen
        rows = screen.pane.rows
        height = rows.scrollable_content_region.height
        frame_ms, render_ms = [], []
        for _ in range(frames):
            began = time.perf_counter()
            await pilot.press("pagedown")
            with contextlib.suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            frame_ms.append((time.perf_counter() - began) * 1000)
            rows._cache.clear()  # a cold frame: every visible line rendered from its row
            began = time.perf_counter()
            for y in range(height):
                rows.render_line(y)
            render_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        screen.action_apply_filter("sev:high source:logs")
        await _until(pilot, lambda: rows.rows and all(r.severity.rank >= 3 for r in rows.rows))
        filter_ms = (time.perf_counter() - began) * 1000
    store.close()
    return {"render_frame_ms_median": statistics.median(render_ms),
            "render_frame_ms_p95": sorted(render_ms)[int(len(render_ms) * 0.95) - 1],
            "keypress_to_frame_ms_median": statistics.median(frame_ms),
            "filter_first_paint_ms": filter_ms}


def _shown(app: Any) -> int:
    """Rows loaded on the current screen's timeline (0 while it is not a timeline)."""
    pane = getattr(app.screen, "pane", None)
    return len(pane.rows.rows) if pane is not None else 0


async def _until(pilot: Any, cond: Any) -> None:
    deadline = time.monotonic() + 60
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.001)


def keystroke_bytes(db: str, presses: int = 20) -> dict[str, float]:
    """Bytes per ``j`` on the list vs one full redraw, through a real pty at 80x24."""
    from tests.tui.ptyrun import PtyApp

    app = PtyApp(Path(db))
    try:
        app.quiet(expect=30)
        app.press("A")
        app.quiet(idle=1.5, expect=10)  # the histogram of a 1M store arrives after the rows
        before = len(app.output)
        latencies = [app.press_timed("j") for _ in range(5)]  # inside the view: 2 lines
        move = (len(app.output) - before) / 5
        app.press(*["j"] * 30)  # to the bottom of the 24-line view, not measured
        app.quiet(idle=1.5)
        before = len(app.output)
        app.press(*["j"] * presses)  # past the bottom: every one of these scrolls the pane
        per_key = (len(app.output) - before) / presses
        app.resize(81, 24)
        app.quiet(idle=1.5)
        before = len(app.output)
        app.resize(80, 24)  # SIGWINCH: Textual repaints every cell once
        app.quiet(idle=1.5)
        full = len(app.output) - before
    finally:
        app.close()
    return {"full_redraw_bytes": full, "bytes_per_keystroke_cursor_move": move,
            "bytes_per_keystroke_scrolling": per_key,
            "key_to_first_byte_ms_median": statistics.median(latencies) * 1000}


def _median(values: list[float | None]) -> float | None:
    """The median, or ``None`` if any run did not get there (a timeout)."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if len(known) == len(values) else None


def big_investigation(total: int, reps: int, idle: float) -> dict[str, Any]:
    """Open a big and a small investigation of one store in fresh processes (interleaved)."""
    from benchmarks.bench_tui_investigation import linked_db

    db, big_id, small_id = linked_db(total)
    runs: dict[str, list[dict[str, float]]] = {"small": [], "big": []}
    for _ in range(reps):
        runs["small"].append(_spawn("investigation", str(db), str(small_id), str(idle)))
        runs["big"].append(_spawn("investigation", str(db), str(big_id), str(idle)))
    med = {k: {m: _median([r[m] for r in v]) for m in v[0]} for k, v in runs.items()}
    return {**med, "linked": {"big": total // 2, "small": 50},
            "ratio_open_big_vs_small": (med["big"]["open_s"] or 0) / (med["small"]["open_s"] or 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every measurement, print the JSON report and return it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="1k events, one rep")
    parser.add_argument("--only", choices=("big", "start"),
                        help="only the big-investigation part, or only start-up (item 0)")
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds measured")
    args = parser.parse_args(argv)
    from benchmarks.store_data import query_db
    from storage import Store

    big_n = 1000 if args.smoke else args.events
    reps = 1 if args.smoke else args.reps
    idle = 2.0 if args.smoke else args.idle
    if args.only == "start":
        started = {"start": start_in_pty(max(reps, 3) if not args.smoke else 1)}
        sys.stdout.write(json.dumps(started, indent=2) + "\n")
        return started
    if args.only == "big":
        only: dict[str, Any] = {"events": big_n,
                                "investigation": big_investigation(big_n, reps, idle)}
        sys.stdout.write(json.dumps(only, indent=2) + "\n")
        return only
    small, big = str(query_db(1000)), str(query_db(big_n))
    empty = str(Path(tempfile.mkdtemp()) / "empty.db")
    Store.open(empty).close()
    report: dict[str, Any] = {"events": big_n, "start": start_in_pty(reps),
                              "cold_start": cold_start(big, empty, reps)}
    frames = 10 if args.smoke else 60
    scroll = {"1k": [], "big": []}  # type: dict[str, list[dict[str, float]]]
    for _ in range(reps):
        scroll["1k"].append(asyncio.run(_scroll_and_filter(small, frames)))
        scroll["big"].append(asyncio.run(_scroll_and_filter(big, frames)))
    report["scroll"] = {k: {m: statistics.median(r[m] for r in v) for m in v[0]}
                        for k, v in scroll.items()}
    report["scroll_ratio_big_vs_1k"] = {
        m: report["scroll"]["big"][m] / report["scroll"]["1k"][m] for m in scroll["1k"][0]}
    report["pty"] = keystroke_bytes(big)
    report["investigation"] = big_investigation(big_n, reps, idle)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == CHILD and sys.argv[2] == "investigation":
        from benchmarks.bench_tui_investigation import child

        child(sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == CHILD:
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
