"""Serving the API with uvicorn: in a daemon thread (beside the TUI) or on a given loop.

``log_config=None`` keeps uvicorn from configuring logging (nothing may print while
the TUI owns the terminal), the access log is off (a request line is no place for
secrets), ``server_header=False`` hides the server version, and stopping goes
through ``server.should_exit`` so in-flight requests finish.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI

from workbench.settings.api import ApiSettings


class ApiServerError(RuntimeError):
    """The server did not start (port in use, bad address...)."""


def make_config(app: FastAPI, settings: ApiSettings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration the workbench always uses."""
    options: dict[str, Any] = {
        "host": settings.host, "port": settings.port, "log_config": None,
        "access_log": False, "server_header": False, "lifespan": "on",
        "limit_concurrency": settings.limit_concurrency, "timeout_graceful_shutdown": 5,
        **settings.tls_options(),
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


class ApiServer:
    """uvicorn serving ``app``; :meth:`start` in a thread or ``await`` :meth:`serve`."""

    def __init__(self, app: FastAPI, settings: ApiSettings, **overrides: Any) -> None:
        self.server = uvicorn.Server(make_config(app, settings, **overrides))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        for server in self.server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise ApiServerError("the server is not listening")

    @property
    def url(self) -> str:
        """``http(s)://host:port`` of the running server."""
        host = self.server.config.host
        scheme = "https" if self.server.config.is_ssl else "http"
        return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ApiServer:
        """Serve in a daemon thread; return once listening (or raise)."""
        self._thread = threading.Thread(target=self._run, name="workbench-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise ApiServerError(self._failure())
            if time.monotonic() > deadline:
                self.stop()
                raise ApiServerError("the API server did not start in time")
            time.sleep(0.01)  # polling a flag uvicorn sets; there is no event to wait on
        return self

    def _failure(self) -> str:
        """Why the server did not start, in words: uvicorn logs a bind error and exits
        with status 3, so a bind that fails now is the likely reason."""
        config = self.server.config
        if isinstance(self._error, SystemExit) and config.fd is None and config.uds is None:
            why = _bind_error(config.host, config.port)
            if why is not None:
                return (f"the API cannot listen on {config.host}:{config.port}: {why} "
                        "(another workbench serving there? change [api] port, or run "
                        "with --no-api)")
        return f"the API server did not start: {self._error!r}"

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
        if not self.server.started and self._error is None:
            self._error = ApiServerError("uvicorn exited (is the port in use?)")

    async def serve(self) -> None:
        """Serve on the running loop until :meth:`stop` (for ``workbench serve``)."""
        await self.server.serve()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to exit and wait for the thread."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)


def _bind_error(host: str, port: int) -> str | None:
    """The error binding ``host:port`` gives now (``None``: it binds)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {host!r}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
