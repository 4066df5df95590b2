"""Real servers for the network tests: a scripted exporter, Prometheus, Alertmanager, uvicorn."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str,
             interval: float = 0.1) -> None:
    """Poll ``condition`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    """A loopback port that was free a moment ago (for servers that cannot report theirs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ScriptedExporter:
    """A /metrics endpoint whose n-th scrape serves ``script[n]`` (then the last value).

    The spike lives in the script, not in wall-clock time, so a slow machine only
    makes the test wait longer, never changes what Prometheus stores.
    """

    def __init__(self, script: Sequence[float], metric: str = "app_latency_seconds",
                 labels: str = 'service="checkout"') -> None:
        self.script = list(script)
        self.scrapes = 0
        self.times: list[float] = []
        """Wall-clock time of each scrape (the truth a test compares Prometheus with)."""
        self._lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with exporter._lock:
                    index = min(exporter.scrapes, len(exporter.script) - 1)
                    exporter.scrapes += 1
                    exporter.times.append(time.time())
                value = exporter.script[index]
                body = (f"# TYPE {metric} gauge\n{metric}{{{labels}}} {value}\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedExporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def run_binary(argv: list[str], *, ready_url: str, log: Path, timeout: float = 30.0
               ) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server binary, wait until ``ready_url`` answers 200, stop it afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env={**os.environ, "TZ": "UTC"})
    try:
        wait_for(lambda: proc.poll() is not None or _ok(ready_url), timeout=timeout,
                 what=f"{argv[0]} to be ready")
        if proc.poll() is not None:
            raise AssertionError(f"{argv[0]} exited: {log.read_text()[-2000:]}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def serve_app(app: Any, *, lifespan: Literal["auto", "on", "off"] = "off") -> Iterator[str]:
    """Serve an ASGI app with a real uvicorn on 127.0.0.1:0; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, lifespan=lifespan, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=10, what="uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


RECEIVER_TOKEN = "receiver-test-token"
"""The bearer token the test receivers expect from Alertmanager and OTLP senders."""
RECEIVER_AUTH = {"Authorization": f"Bearer {RECEIVER_TOKEN}"}
os.environ["WB_TEST_RECEIVER_TOKEN"] = RECEIVER_TOKEN


def receiver_app(store: Any, **receivers: Any) -> Any:
    """A small FastAPI app with only the receivers router mounted (the brief's test rig).

    Alertmanager and OTLP expect :data:`RECEIVER_TOKEN` unless a test says otherwise
    (this app has no API tokens, and the receivers are never open).
    """
    from fastapi import FastAPI

    from workbench.api.routes.receivers import router
    from workbench.settings.receivers import ReceiverSettings

    receivers.setdefault("alertmanager_token", "env:WB_TEST_RECEIVER_TOKEN")
    receivers.setdefault("otlp_token", "env:WB_TEST_RECEIVER_TOKEN")
    app = FastAPI()
    app.state.store = store
    app.state.receivers = ReceiverSettings(**receivers)
    app.include_router(router)
    return app
