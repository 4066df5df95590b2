"""REST API throughput against a bare Starlette + orjson baseline (performance.md §4, §8).

    .venv/bin/python -m benchmarks.bench_api [--events 200000] [--duration 10] [--reps 3]

Each server runs in its own process pinned to CPU 0; the load generator (``wrk``,
else a small asyncio client) is pinned to CPU 1; 64 connections. Scenarios are
interleaved (baseline, workbench, baseline, ...) and the median of the repeats is
reported with the ratio to the baseline of the same run. Goals: one event by id
>= 0.45x baseline and >= 4,000 req/s; a page of 50 >= 0.55x baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

GOALS = {"event_by_id": 0.45, "page_of_50": 0.55}
FLOOR = {"event_by_id": 4000.0}
SERVER_CPU, LOAD_CPU = "0", "1"


@dataclass
class Sample:
    """One load run."""

    rps: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int = 0
    cpu_us_per_request: float | None = None
    """Server CPU time per request: robust when other work shares the machine."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_db(path: Path, events: int) -> str:
    """A store with ``events`` events and a viewer token; returns the token."""
    from storage import NewEvent, Store
    from storage.tokens import create_token

    store = Store.open(path)
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    services = [f"svc-{i}" for i in range(20)]
    for start in range(0, events, 5000):
        batch = [NewEvent(source="logs", kind="log", severity=rng.choice(
            ["info", "low", "medium", "high", "critical"]),
            occurred_at=base + timedelta(seconds=i), service=rng.choice(services),
            environment="prod", host=f"host-{i % 50}", title=f"request failed {i}",
            body="upstream timed out after 30s " * 3, trace_id=f"{i:032x}",
            attributes={"status": 500, "path": "/checkout"}, dedup_key=f"k{i}")
            for i in range(start, min(events, start + 5000))]
        store.ingest(batch)
    with store.write() as session:
        _, token = create_token(session=session, name=f"bench-{os.getpid()}", role="viewer")
    store.close()
    return token


@contextmanager
def server(kind: str, db: Path, pin: bool, port: int) -> Iterator[tuple[int, int]]:
    """Run one server process on ``port`` (chosen, not ephemeral); yield its port and pid."""
    cmd = [sys.executable, "-m", "benchmarks.api_apps", kind, str(db), str(port)]
    if pin:
        cmd = ["taskset", "-c", SERVER_CPU, *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline()), proc.pid  # taskset execs: same pid
    finally:
        proc.terminate()
        proc.wait(10)


LUA = """
local n = {n}
request = function()
  local path = "{path}"
  if path == "" then path = "/api/events/" .. math.random(1, n) end
  return wrk.format("GET", path)
end
"""


def run_wrk(port: int, path: str, n: int, token: str, duration: float, conns: int,
            pin: bool) -> Sample:
    """``wrk`` against ``path`` ('' means a random event id)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("{n}", str(n)).replace("{path}", path))
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, int(duration))}s", "--latency",
           "-H", f"Authorization: Bearer {token}", "-s", script.name,
           f"http://127.0.0.1:{port}"]
    if pin:
        cmd = ["taskset", "-c", LOAD_CPU, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx responses:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Sample(rps, _latency(out, "50%"), _latency(out, "99%"), total)


def _latency(out: str, label: str) -> float | None:
    found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
    if not found:
        return None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    return float(found.group(1)) * scale


async def _py_load(port: int, path: str, n: int, token: str, duration: float,
                   conns: int) -> Sample:
    """A keep-alive HTTP/1.1 load generator for machines without wrk."""
    done = 0
    deadline = time.perf_counter() + duration
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            target = path or f"/api/events/{random.randint(1, n)}"
            started = time.perf_counter()
            writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}"
                         "\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            done += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    latencies.sort()
    return Sample(done / (time.perf_counter() - started),
                  latencies[len(latencies) // 2] * 1000 if latencies else None,
                  latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None, done)


def load(target: tuple[int, int], path: str, n: int, token: str, duration: float, conns: int,
         pin: bool) -> Sample:
    """Load ``path`` with wrk if installed, else the asyncio generator."""
    port, pid = target
    before = cpu_seconds(pid)
    if shutil.which("wrk"):
        sample = run_wrk(port, path, n, token, duration, conns, pin)
    else:
        sample = asyncio.run(_py_load(port, path, n, token, duration, conns))
    if sample.requests:
        sample.cpu_us_per_request = (cpu_seconds(pid) - before) / sample.requests * 1e6
    return sample


SCENARIOS = {"event_by_id": "", "page_of_50": "/api/events?limit=50"}


def run(events: int, duration: float, reps: int, conns: int, db_dir: Path,
        pin: bool, port: int = 18650, kinds: tuple[str, ...] = ("baseline", "workbench")
        ) -> dict[str, dict[str, list[Sample]]]:
    """Every scenario on every server, interleaved; returns samples."""
    db = db_dir / f"bench-{events}.db"
    token = build_db(db, events)
    samples: dict[str, dict[str, list[Sample]]] = {s: {k: [] for k in kinds}
                                                   for s in SCENARIOS}
    # Explicit ports (baseline, baseline + 1, ...): an ephemeral port may land in a
    # range the load generator's own connections use, and differs run to run.
    with ExitStack() as stack:
        ports = {kind: stack.enter_context(server(kind, db, pin, port + n))
                 for n, kind in enumerate(kinds)}  # (port, pid) each
        for served in ports.values():  # warm-up, discarded
            load(served, "", events, token, min(2.0, duration), conns, pin)
        for _ in range(reps):
            for scenario, path in SCENARIOS.items():
                for kind, served in ports.items():
                    samples[scenario][kind].append(
                        load(served, path, events, token, duration, conns, pin))
    return samples


def report(samples: dict[str, dict[str, list[Sample]]]) -> dict[str, float]:
    """Print the figures and ratios; return the ratio per scenario."""
    ratios = {}
    for scenario, by_kind in samples.items():
        med = {k: statistics.median(s.rps for s in v) for k, v in by_kind.items()}
        cpu = {k: statistics.median(s.cpu_us_per_request or 0 for s in v)
               for k, v in by_kind.items()}
        ratio = med["workbench"] / med["baseline"]
        ratios[scenario] = ratio
        sys.stdout.write(f"\n{scenario}  (goal >= {GOALS[scenario]:.2f}x"
                         + (f", >= {FLOOR[scenario]:,.0f} req/s" if scenario in FLOOR else "")
                         + ")\n")
        for kind, runs in by_kind.items():
            per = " / ".join(f"{s.rps:,.0f}" for s in runs)
            if kind not in ("baseline", "workbench"):
                sys.stdout.write(f"  ({kind}: {med[kind] / med['baseline']:.2f}x throughput, "
                                 f"{cpu['baseline'] / cpu[kind]:.2f}x CPU per request)\n")
            p50 = statistics.median(s.p50_ms or 0 for s in runs)
            p99 = statistics.median(s.p99_ms or 0 for s in runs)
            sys.stdout.write(f"  {kind:<10} {per:<28} median {med[kind]:>9,.0f} req/s   "
                             f"p50 {p50:.2f} ms  p99 {p99:.2f} ms   "
                             f"server CPU {cpu[kind]:.0f} us/req\n")
        cpu_ratio = cpu["baseline"] / cpu["workbench"] if cpu["workbench"] else 0.0
        sys.stdout.write(f"  ratio workbench/baseline = {ratio:.2f}x (throughput); "
                         f"{cpu_ratio:.2f}x (server CPU per request); one core at the "
                         f"measured CPU cost = {1e6 / cpu['workbench']:,.0f} req/s\n"
                         if cpu["workbench"] else "")
    return ratios


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--port", type=int, default=18650,
                        help="baseline's port; the other servers take the next ones")
    parser.add_argument("--token-cache", action="store_true",
                        help="also run the workbench with its token cache off")
    args = parser.parse_args(argv)
    pin = not args.no_pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) > 1
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp)
        sys.stdout.write(f"loader: {'wrk' if shutil.which('wrk') else 'asyncio'}; "
                         f"pinned: {pin}; events: {args.events:,}; {args.connections} "
                         f"connections; {args.duration}s x {args.reps} interleaved\n")
        kinds = ("baseline", "workbench") + (("workbench-nocache",) if args.token_cache else ())
        report(run(args.events, args.duration, args.reps, args.connections, directory, pin,
                   args.port, kinds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
