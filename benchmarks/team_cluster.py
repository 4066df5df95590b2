"""Several real ``workbench serve`` processes on one PostgreSQL database (a team's setup).

Used by ``benchmarks/bench_team.py`` (10 kill -9 trials, takeover figures) and by
``tests/reliability/test_team.py`` (the same run, fewer trials). Each instance has
the same config: two log connectors tailing growing, rotating files, one
Alertmanager pull connector against a local upstream that keeps an access log,
grouping with auto-open, and the API with the Alertmanager webhook; every webhook
batch is posted to every instance at once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "team-webhook-token-0123456789abcdef"
LOG_CONNECTORS = ("tail-a", "tail-b")
PULL = "am-pull"
TTL, RENEW, INTERVAL = 3.0, 1.0, 0.2


class Writer(threading.Thread):
    """Appends numbered JSON lines to ``app.log``; rotates by rename + create."""

    def __init__(self, directory: Path, rate: int = 400, rotate_every: int = 1500) -> None:
        super().__init__(daemon=True)
        self.directory, self.rate, self.rotate_every = directory, rate, rotate_every
        self.stream = directory.name
        self.written = self.rotations = 0
        self.stop = threading.Event()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "app.log").write_bytes(b"".join(self._line() + b"\n" for _ in range(10)))

    def _line(self) -> bytes:
        self.written += 1
        return orjson.dumps({"ts": "2026-12-01T09:00:00Z", "msg": "tick", "stream": self.stream,
                             "n": self.written})

    def run(self) -> None:
        log = self.directory / "app.log"
        handle = open(log, "ab")  # noqa: SIM115 - reopened on rotation, like a real logger
        while not self.stop.is_set():
            handle.write(b"".join(self._line() + b"\n" for _ in range(20)))
            handle.flush()
            if self.written % self.rotate_every < 20:
                handle.close()
                self.rotations += 1
                log.rename(self.directory / f"app.log.{self.rotations}")
                handle = open(log, "ab")  # noqa: SIM115
            time.sleep(20 / self.rate)
        handle.close()


class Upstream(ThreadingHTTPServer):
    """A fake Alertmanager ``/api/v2/alerts`` that logs (time, client port) per request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.access: list[tuple[float, int]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def overlaps(self) -> int:
        """Pairs of client connections whose request spans overlap (two pollers at once)."""
        spans: dict[int, list[float]] = {}
        for at, port in list(self.access):
            spans.setdefault(port, []).append(at)
        ranges = sorted((min(v), max(v)) for v in spans.values())
        return sum(1 for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False)
                   if start < end)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ALERT = [{"labels": {"alertname": "DiskFilling", "severity": "warning", "service": "db"},
              "annotations": {}, "startsAt": "2026-12-01T08:00:00Z",
              "endsAt": "2026-12-01T18:00:00Z", "fingerprint": "pull-1",
              "status": {"state": "active"}}]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        server: Any = self.server
        server.access.append((time.monotonic(), self.client_address[1]))
        body = orjson.dumps(self.ALERT)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    """One ``workbench serve`` process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Cluster:
    """The processes, their inputs and the database they share."""

    url: str
    work: Path
    upstream: Upstream = field(default_factory=Upstream)
    instances: list[Instance] = field(default_factory=list)
    writers: dict[str, Writer] = field(default_factory=dict)
    episodes: int = 0
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        for name in LOG_CONNECTORS:
            self.writers[name] = Writer(self.work / name)

    def config(self, port: int) -> Path:
        """This instance's config file: the same connectors everywhere, its own API port."""
        connectors = "".join(
            f'[[connectors]]\nkind = "logs"\nname = "{n}"\n'
            f"paths = [{orjson.dumps(str(self.work / n / 'app.log')).decode()}]\n"
            f"interval_seconds = {INTERVAL}\nrotate_wait_seconds = 1.0\n"
            "multiline_flush_seconds = 0.0\nmax_batch_records = 500\n\n" for n in LOG_CONNECTORS)
        path = self.work / f"config-{port}.toml"
        path.write_text(
            f'[store]\npool_size = 4\n\n[leases]\nttl_seconds = {TTL}\nrenew_seconds = {RENEW}\n'
            # Each instance plays a host of its own: takeover must come from expiry.
            f'instance = "bastion-{port}"\n\n'
            "[grouping]\nauto_open = true\ninterval_seconds = 0.5\n\n"
            f'[api]\nport = {port}\n\n[api.receivers]\nalertmanager_token = "env:AM_TOKEN"\n\n'
            + connectors
            + f'[[connectors]]\nkind = "alertmanager"\nname = "{PULL}"\n'
              f'url = "{self.upstream.url}"\ninterval_seconds = {INTERVAL}\n')
        return path

    def start(self) -> Instance:
        """Start one more instance and wait until it says it is ready."""
        port = free_port()
        log = self.work / f"serve-{port}.log"
        command = [sys.executable, "-m", "workbench", "--db", self.url,
                   "--config", str(self.config(port)), "serve", "--log-file", str(log)]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "AM_TOKEN": TOKEN}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if "ready" not in line:
            raise RuntimeError(f"serve did not start: {line}{process.stdout.read().decode()}")
        instance = Instance(process, port, log)
        self.instances.append(instance)
        return instance

    def kill(self, instance: Instance) -> float:
        """kill -9; returns the wall-clock time of the kill."""
        at = time.time()
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait(timeout=10)
        return at

    def post_episodes(self, count: int, batch: int = 5) -> None:
        """``count`` new critical alert episodes, each batch posted to every live instance."""
        ports = [i.port for i in self.instances if i.alive()]
        first = self.episodes
        self.episodes += count
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(len(ports)) as pool:
            for start in range(first, first + count, batch):
                body = webhook(range(start, min(start + batch, first + count)))
                answers = list(pool.map(lambda p, b=body: _post(client, p, b), ports))
                assert all(a == 200 for a in answers), answers

    def leases(self) -> dict[str, tuple[int | None, datetime | None, bool]]:
        """``name -> (holder pid, acquired_at, live)`` as the store sees it now."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT name, pid, acquired_at, expires_at > now() "
                                     "FROM job_lease")).all()
        return {r[0]: (r[1], r[2], bool(r[3])) for r in rows}

    def takeover(self, dead_pid: int, killed_at: float, timeout: float = 60) -> dict[str, float]:
        """Seconds from the kill until another instance took each lease ``dead_pid`` held."""
        held = [n for n, (pid, _, live) in self.leases().items() if pid == dead_pid and live]
        out: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(out) < len(held) and time.monotonic() < deadline:
            for name, (pid, since, live) in self.leases().items():
                if name in held and name not in out and pid != dead_pid and live and since:
                    out[name] = since.timestamp() - killed_at
            time.sleep(0.05)
        return out

    def sql(self, query: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(query)).all())

    def stored_lines(self, connector: str) -> list[int]:
        """The line numbers of one log connector's stored events."""
        rows = self.sql("SELECT (attributes::jsonb -> 'fields' ->> 'n')::int FROM event "
                        "WHERE source = 'logs' AND "
                        f"attributes::jsonb -> 'fields' ->> 'stream' = '{connector}'")
        return [r[0] for r in rows]

    def settled(self) -> bool:
        """Every line stored and the grouper past the newest event."""
        lines = all(len(self.stored_lines(n)) >= w.written for n, w in self.writers.items())
        cursor = self.sql("SELECT coalesce((SELECT cursor FROM connector_cursor "
                          "WHERE connector = 'grouping'), '0'), (SELECT max(id) FROM event)")
        return lines and int(cursor[0][0]) >= int(cursor[0][1] or 0)

    def error_lines(self) -> list[str]:
        """ERROR lines (and any deadlock / unique-violation line) in every instance's log."""
        bad = []
        for instance in self.instances:
            if instance.log.exists():
                for line in instance.log.read_text(errors="replace").splitlines():
                    if " ERROR " in line or "Deadlock" in line or "UniqueViolation" in line:
                        bad.append(line)
        return bad

    def stop(self) -> None:
        """Stop the writers and every instance (SIGTERM, then SIGKILL)."""
        for writer in self.writers.values():
            writer.stop.set()
        for instance in self.instances:
            if instance.alive():
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            try:
                instance.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                instance.process.kill()
        self.upstream.shutdown()
        self.engine.dispose()


def _post(client: httpx.Client, port: int, body: bytes) -> int:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for _ in range(20):  # a 503 (store briefly unavailable) says when to retry
        response = client.post(f"http://127.0.0.1:{port}/api/webhooks/alertmanager",
                               content=body, headers=headers)
        if response.status_code != 503:
            return response.status_code
        time.sleep(float(response.headers.get("Retry-After", "1")))
    return 503


def webhook(numbers: range) -> bytes:
    """Alertmanager payload v4 with one firing critical alert per episode number."""
    base = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    alerts = [{"status": "firing",
               "labels": {"alertname": f"Alert{n}", "service": f"svc-{n}", "severity": "critical"},
               "annotations": {"summary": f"episode {n}"},
               "startsAt": (base + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
               "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"fp-{n:05d}"}
              for n in numbers]
    return orjson.dumps({"version": "4", "status": "firing", "receiver": "workbench",
                         "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                         "externalURL": "http://alertmanager:9093", "alerts": alerts})


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll ``condition`` until true; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
