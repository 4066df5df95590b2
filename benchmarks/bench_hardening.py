"""Issue 10's write-path figures: POST cost against store size, and a 60 s mixed run.

    .venv/bin/python -m benchmarks.bench_hardening post-scale [--posts 200] [--reps 3]
    .venv/bin/python -m benchmarks.bench_hardening mixed [--events 1000000] [--seconds 60]

``post-scale``: a 10-event POST over real HTTP on a 1M-event store against the same
POST on a 1k-event store (cached stores of ``benchmarks.store_data``, fresh copies),
requests alternating between the two servers so a slow stretch hits both; goal:
median 1M/1k <= 1.5.

``mixed``: the real API in its own process (``benchmarks.api_apps``) over a copy of
the ``--events`` store, for ``--seconds``: wrk reading pages of 50 and single events
by id (16 connections each), two clients POSTing batches of 10 events, and a
100k-line ``workbench ingest`` into the same store. Goals: read p99 < 250 ms,
>= 1,000 req/s in all, 0 errors, and every acknowledged event stored. The load
average is printed beside the figures: on a shared machine it is part of the result.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from benchmarks.bench_api import server
from benchmarks.harness import Report, median, percentiles
from benchmarks.store_data import query_db
from storage import Store
from storage.tokens import create_token
from tests.api.conftest import note, start_api, stop_api

POST_GOAL = 1.5
READ_P99_MS, TOTAL_RPS = 250.0, 1_000.0


def private_copy(source: Path, target: Path) -> Path:
    """A copy of a cached store, ours to write."""
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return target


def batch(tag: str, n: int) -> list[dict[str, object]]:
    """Ten new manual notes with unique dedup keys."""
    return [note(f"{tag} {n}.{i}", service="bench", dedup_key=f"{tag}-{n}-{i}")
            for i in range(10)]


def post_scale(posts: int, reps: int, report: Report) -> None:
    """10-event POST latency on a 1M-event store vs a 1k-event store, interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        stores = {size: Store.open(private_copy(query_db(size, say=report.say),
                                                Path(tmp) / f"{size}.db"))
                  for size in (1_000, 1_000_000)}
        apis = {size: start_api(store) for size, store in stores.items()}
        clients = {size: api.client("responder") for size, api in apis.items()}
        samples: dict[int, list[float]] = {size: [] for size in stores}
        try:
            for size, client in clients.items():  # warm-up, discarded
                for n in range(10):
                    client.post("/api/events", json=batch(f"warm{size}", n))
            for n in range(posts * reps):
                for size, client in clients.items():
                    began = time.perf_counter()
                    response = client.post("/api/events", json=batch(f"p{size}", n))
                    samples[size].append(time.perf_counter() - began)
                    assert response.status_code == 200, response.text
        finally:
            for api in apis.values():
                stop_api(api)
            for store in stores.values():
                store.close()
    for size, values in samples.items():
        shown = percentiles(values)
        report.figure("post", f"10-event POST on {size:,} events (median)",
                      "anchor" if size == 1_000 else "project", 1000 * median(values), "ms",
                      p90_ms=1000 * shown["p90"], p99_ms=1000 * shown["p99"])
        report.say(f"        p90 {1000 * shown['p90']:.1f} ms, p99 {1000 * shown['p99']:.1f} ms")
    report.goal("post_1m_vs_1k", median(samples[1_000_000]) / median(samples[1_000]), POST_GOAL,
                higher_is_better=False, detail=f"load average {os.getloadavg()}")


def wrk(port: int, token: str, path: str, seconds: int, script: Path | None) -> str:
    """wrk's --latency output for ``path`` (a script picks random ids when given)."""
    cmd = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s",
           "-H", f"Authorization: Bearer {token}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def _wrk_figures(out: str) -> tuple[int, float, int]:
    """Requests, p99 ms and errors (non-2xx and socket errors) of one wrk run."""
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert p99 is not None, out
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if socket:
        errors += sum(int(x) for x in socket.groups())
    return total, p99_ms, errors


class Poster(threading.Thread):
    """POSTs 10-event batches until told to stop; remembers every acknowledged key."""

    def __init__(self, url: str, token: str, tag: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=url, timeout=30,
                                   headers={"Authorization": f"Bearer {token}"})
        self.tag, self.stop = tag, stop
        self.acked: list[str] = []
        self.latencies: list[float] = []
        self.errors = 0

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            body = batch(self.tag, n)
            began = time.perf_counter()
            try:
                response = self.client.post("/api/events", json=body)
            except httpx.HTTPError:
                self.errors += 1
                continue
            self.latencies.append(time.perf_counter() - began)
            if response.status_code == 200:
                self.acked += [str(e["dedup_key"]) for e in body]
            else:
                self.errors += 1
            n += 1
        self.client.close()


def ingest_file(path: Path, lines: int) -> None:
    """``lines`` valid JSON lines for ``workbench ingest``."""
    with path.open("wb") as out:
        for n in range(lines):
            out.write(orjson.dumps({"source": "logs", "kind": "log", "title": f"line {n}",
                                    "occurred_at": "2026-11-01T00:00:00Z",
                                    "dedup_key": f"mixed-ingest-{n}"}) + b"\n")


def mixed(events: int, seconds: int, report: Report) -> None:
    """The 60 s mixed run."""
    with tempfile.TemporaryDirectory() as tmp:
        db = private_copy(query_db(events, say=report.say), Path(tmp) / "mixed.db")
        store = Store.open(db)
        with store.write() as session:
            _, reader = create_token(session=session, name="mixed-reader", role="viewer")
            _, writer = create_token(session=session, name="mixed-writer", role="responder")
        store.close()
        jsonl = Path(tmp) / "ingest.jsonl"
        ingest_file(jsonl, 100_000)
        script = Path(tmp) / "ids.lua"
        script.write_text(f'request = function() return wrk.format("GET", "/api/events/" .. '
                          f'math.random(1, {events})) end\n')
        with server("workbench", db, False, 18_700) as (port, _pid):
            url = f"http://127.0.0.1:{port}"
            stop = threading.Event()
            posters = [Poster(url, writer, f"mixed-post{i}", stop) for i in range(2)]
            outs: dict[str, str] = {}
            readers = [threading.Thread(target=lambda k=k, p=p, s=s: outs.__setitem__(
                k, wrk(port, reader, p, seconds, s)))
                for k, p, s in (("pages", "/api/events?limit=50", None),
                                ("by_id", "/", script))]
            began = time.perf_counter()
            ingest = subprocess.Popen([str(Path(sys.executable).with_name("workbench")),
                                       "--db", str(db), "ingest", "--quiet", str(jsonl)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for thread in (*posters, *readers):
                thread.start()
            for thread in readers:
                thread.join()
            stop.set()
            for poster in posters:
                poster.join(60)
            elapsed = time.perf_counter() - began
            ingest_out = ingest.communicate(timeout=600)[0].decode(errors="replace")
            ingest_seconds = time.perf_counter() - began
        _mixed_report(report, db, outs, posters, elapsed, ingest.returncode, ingest_out,
                      ingest_seconds)


def _stored(db: Path, keys: list[str]) -> int:
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE TEMP TABLE k (key TEXT PRIMARY KEY)")
        conn.executemany("INSERT OR IGNORE INTO k VALUES (?)", [(k,) for k in keys])
        return int(conn.execute("SELECT count(*) FROM event JOIN k ON event.dedup_key = k.key"
                                ).fetchone()[0])
    finally:
        conn.close()


def _mixed_report(report: Report, db: Path, outs: dict[str, str], posters: list[Poster],
                  elapsed: float, ingest_rc: int, ingest_out: str, ingest_seconds: float
                  ) -> None:
    load = os.getloadavg()
    reads = {kind: _wrk_figures(out) for kind, out in outs.items()}
    acked = [key for poster in posters for key in poster.acked]
    post_lat = [x for poster in posters for x in poster.latencies]
    errors = sum(e for _, _, e in reads.values()) + sum(p.errors for p in posters) + \
        (ingest_rc != 0)
    total = sum(n for n, _, _ in reads.values()) + len(post_lat)
    for kind, (n, p99, errs) in reads.items():
        report.figure("mixed", f"read {kind}: req/s", "info", n / elapsed, "req/s")
        report.figure("mixed", f"read {kind}: p99", "project", p99, "ms", errors=errs)
    shown = percentiles(post_lat) if post_lat else {"p50": 0.0, "p99": 0.0}
    report.figure("mixed", "10-event POSTs: req/s", "info", len(post_lat) / elapsed, "req/s")
    report.figure("mixed", "10-event POSTs: p50 / p99", "info", 1000 * shown["p50"], "ms",
                  p99_ms=1000 * shown["p99"])
    report.say(f"        POST p99 {1000 * shown['p99']:.0f} ms")
    stored_posts = _stored(db, acked)
    stored_ingest = _stored(db, [f"mixed-ingest-{n}" for n in range(100_000)])
    report.figure("mixed", "ingest 100k lines: seconds", "info", ingest_seconds, "s",
                  exit_code=ingest_rc)
    report.say(f"        acknowledged POST events {len(acked)}, stored {stored_posts}; "
               f"ingested lines stored {stored_ingest}/100000 (exit {ingest_rc})")
    if ingest_rc:
        report.say(ingest_out[-2000:])
    report.say(f"        total {total / elapsed:.0f} req/s, errors {errors}, "
               f"load average {load}")
    worst = max(p99 for _, p99, _ in reads.values())
    report.goal("mixed_read_p99_ms", worst, READ_P99_MS, higher_is_better=False,
                detail=f"load average {load}")
    report.goal("mixed_total_rps", total / elapsed, TOTAL_RPS, higher_is_better=True,
                detail=f"load average {load}")
    report.goal("mixed_errors", float(errors), 0.0, higher_is_better=False)
    report.goal("mixed_acked_stored", float(stored_posts == len(acked) and
                                            stored_ingest == 100_000), 1.0,
                higher_is_better=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=("post-scale", "mixed"))
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    report = Report(f"hardening-{args.scenario}")
    if args.scenario == "post-scale":
        post_scale(args.posts, args.reps, report)
    else:
        mixed(args.events, args.seconds, report)


if __name__ == "__main__":
    main()
