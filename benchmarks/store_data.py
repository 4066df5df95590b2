"""Deterministic benchmark data for the store, and the cached query databases.

Events follow a skewed, realistic mix: one hot service with about a quarter of the
traffic and a long tail of cold ones; mostly ``info`` with few ``critical``; times
that mostly arrive in order across 30 days. Titles and bodies carry the term
classes of performance.md §9: a common term (~30% of documents), two terms whose
AND hits ~9%, a phrase in ~1%, a prefix family in ~0.8% and a rare term (< 100).
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage import EventKind, NewEvent, Severity, Source, Store
from storage.ingest import ingest

GENERATOR_VERSION = 1
START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN = timedelta(days=30)
HOT_SERVICE = "checkout"
SERVICES = [HOT_SERVICE] + [f"svc-{n:02d}" for n in range(39)]
# Zipf-like: the hot service ~25%, then a long tail.
SERVICE_WEIGHTS = [25.0] + [75.0 / (n + 1) ** 0.9 / 13.6 for n in range(39)]
SEVERITIES = list(Severity)  # info, low, medium, high, critical
SEVERITY_WEIGHTS = [60, 20, 12, 6, 2]
SOURCES = [(Source.LOGS, EventKind.LOG, 55), (Source.TRACES, EventKind.SPAN_ERROR, 15),
           (Source.METRICS, EventKind.ANOMALY, 12), (Source.CI, EventKind.DEPLOY, 8),
           (Source.GIT, EventKind.COMMIT, 7), (Source.MANUAL, EventKind.NOTE, 3)]
FILLER = [
    "request", "handled", "upstream", "latency", "worker", "queue", "cache", "node", "pod",
    "shard", "replica", "client", "server", "retry", "budget", "payload", "header", "session",
    "token", "region", "zone",
]
TERMS = {
    "common": "error",
    "and": "timeout database",
    "phrase": '"connection reset by peer"',
    "prefix": "kube*",
    "rare": "zanzibar",
}
TAG = "deploy-window"


def _text(rng: random.Random, n: int) -> tuple[str, str]:
    words = rng.choices(FILLER, k=8)
    if rng.random() < 0.30:
        words.append("error")
    if rng.random() < 0.30:
        words.append("timeout")
    if rng.random() < 0.30:
        words.append("database")
    if rng.random() < 0.01:
        words += ["connection", "reset", "by", "peer"]
    if rng.random() < 0.008:
        words.append(rng.choice(("kubelet", "kubeproxy", "kubernetes")))
    if n % 20_011 == 7:
        words.append("zanzibar")
    title = " ".join(words[:6])
    return title, " ".join(words[6:]) + f" req={n:08x}"


def make_event(n: int, total: int, rng: random.Random) -> NewEvent:
    """Event number ``n`` of ``total`` (deterministic for a given ``rng`` state)."""
    source, kind, _ = rng.choices(SOURCES, weights=[s[2] for s in SOURCES])[0]
    title, body = _text(rng, n)
    jitter = timedelta(seconds=rng.uniform(-120, 120))
    return NewEvent(
        source=source, kind=kind,
        severity=rng.choices(SEVERITIES, weights=SEVERITY_WEIGHTS)[0],
        occurred_at=START + SPAN * (n / max(total, 1)) + jitter,
        service=rng.choices(SERVICES, weights=SERVICE_WEIGHTS)[0],
        environment="staging" if rng.random() < 0.2 else "prod",
        host=f"host-{rng.randrange(200):03d}",
        title=title, body=body,
        trace_id=f"{rng.getrandbits(128):032x}" if source is Source.TRACES else None,
        commit_sha=f"{rng.getrandbits(160):040x}" if source is Source.GIT else None,
        attributes={"status": rng.choice((200, 404, 500, 503)), "region": "eu-west-1"},
        tags=(TAG,) if rng.random() < 0.01 else (),
        dedup_key=f"bench-{n}",
    )


def events(total: int, *, seed: int = 1, start: int = 0, count: int | None = None
           ) -> Iterator[NewEvent]:
    """Events ``start .. start + count`` of a ``total``-event data set."""
    rng = random.Random(seed)
    stop = total if count is None else start + count
    for n in range(stop):
        event = make_event(n, total, rng)
        if n >= start:
            yield event


def batches(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` cut into lists of ``size``."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def empty_store_template(directory: Path) -> Path:
    """A migrated, empty SQLite store file to copy for each ingest run."""
    path = directory / "template.db"
    if not path.exists():
        Store.open(path).close()
        conn = sqlite3.connect(path)
        try:  # copies take the file alone: nothing may stay in the WAL
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    return path


def fresh_copy(template: Path, target: Path) -> Path:
    """A copy of ``template`` at ``target`` (removing any old file and its WAL)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return target


def cache_dir() -> Path:
    """Where the built query databases are kept between runs."""
    path = Path(os.environ.get("WORKBENCH_BENCH_CACHE", tempfile.gettempdir())) / "workbench-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_file(path: Path, build: Callable[[Path], None]) -> float | None:
    """Build ``path`` once: ``build`` fills a ``.building`` file (any leftover of an
    interrupted build removed first), which is then renamed, so a half-built file never
    has the final name. The seconds the build took, or ``None`` if it was cached."""
    if path.exists():
        return None
    partial = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    began = time.perf_counter()
    build(partial)
    partial.rename(path)
    return time.perf_counter() - began


def query_db(total: int, directory: Path | None = None, say: Any = None) -> Path:
    """The ``total``-event database, built through the store's ingest path once, cached."""
    from storage.migrate import head_revision

    directory = directory or cache_dir()
    path = directory / f"events-{total}-g{GENERATOR_VERSION}-r{head_revision()}.db"

    def fill(partial: Path) -> None:
        store = Store.open(partial)
        chunk: list[NewEvent] = []
        for event in events(total):
            chunk.append(event)
            if len(chunk) == 1000:
                with store.write() as session:
                    ingest(session=session, events=chunk)
                chunk = []
        if chunk:
            with store.write() as session:
                ingest(session=session, events=chunk)
        store.close()
        # Fold the WAL into the file and close before renaming: the WAL is named after
        # the file, so anything left in it would not follow the rename.
        conn = sqlite3.connect(partial)
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
        if busy:
            raise RuntimeError(f"could not checkpoint {partial}: another process has it open")

    took = cached_file(path, fill)
    if took is not None and say is not None:
        say(f"built {path} ({total} events) in {took:.1f} s")
    return path
    partial = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    began = time.perf_counter()
    store = Store.open(partial)
    chunk: list[NewEvent] = []
    for event in events(total):
        chunk.append(event)
        if len(chunk) == 1000:
            with store.write() as session:
                ingest(session=session, events=chunk)
            chunk = []
    if chunk:
        with store.write() as session:
            ingest(session=session, events=chunk)
    store.close()
    # Fold the WAL into the file and close before renaming: the WAL is named after
    # the file, so anything left in it would not follow the rename.
    conn = sqlite3.connect(partial)
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    if busy:
        raise RuntimeError(f"could not checkpoint {partial}: another process has it open")
    partial.rename(path)
    if say is not None:
        say(f"built {path} ({total} events) in {time.perf_counter() - began:.1f} s")
    return path
