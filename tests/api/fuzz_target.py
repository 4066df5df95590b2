"""A real API to fuzz: a seeded store, a running supervisor, and the schemathesis CLI.

Shared by the CI conformance test (fixed seed, ``tests/api/test_schemathesis.py``)
and the wider random run (``benchmarks/bench_fuzz.py``): both run the same
``st run --checks all`` with every phase, stateful included, against the server on
loopback, so what CI checks is what a person running the CLI would see.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from connectors.control import Control
from connectors.supervisor import Supervisor
from storage import NewDeadLetter, Store
from storage.tokens import create_token
from tests.api.conftest import Api, note, start_api, stop_api
from tests.connectors.runtime_fakes import FakeConnector, config, records
from workbench.settings.api import ApiSettings

UNLIMITED = ApiSettings(port=0, rate_limit_per_second=1e6, rate_limit_burst=10**6,
                        auth_failures_per_second=1e6, auth_failures_burst=10**6)
CONFIG = Path(__file__).with_name("schemathesis.toml")
PHASES = "examples,coverage,fuzzing,stateful"


@dataclass(frozen=True)
class FuzzRun:
    """What one ``st run`` answered."""

    returncode: int
    output: str

    def summary(self) -> str:
        """The failures section and the summary: what a person needs to see."""
        lines = self.output.splitlines()
        start = next((i for i, line in enumerate(lines) if "FAILURES" in line
                      or "ERRORS" in line), max(0, len(lines) - 60))
        return "\n".join(line[:300] for line in lines[start:])[-30_000:]


@contextmanager
def supervised(store: Store) -> Iterator[Control]:
    """A real supervisor (one fake connector, "app") on a loop of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    supervisor = Supervisor(store, [(FakeConnector("app", records("app", 3)), config("app"))])
    asyncio.run_coroutine_threadsafe(supervisor.start(), loop).result(30)
    try:
        yield Control(supervisor)
    finally:
        asyncio.run_coroutine_threadsafe(supervisor.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def fuzz_target(store: Store) -> Iterator[Api]:
    """The API over ``store`` with a few events, two investigations and a dead letter."""
    with supervised(store) as control:
        running = start_api(store, UNLIMITED, health=control.supervisor.health,
                            control=control)
        client = running.client("admin")
        client.post("/api/events", json=[note(f"seed {i}", service="api") for i in range(3)])
        for title in ("one", "two"):
            client.post("/api/investigations", json={"title": title})
        store.ingest([], dead_letters_=[NewDeadLetter(connector="app", payload=b"x",
                                                      error_class="E", message="m")])
        with store.write() as session:
            # The stateful phase lists the tokens and revokes them by name; its own
            # is refused (409: a token does not revoke itself), so it keeps working.
            _, running.tokens["fuzzer"] = create_token(session=session, name="fuzzer",
                                                       role="admin")
        try:
            yield running
        finally:
            stop_api(running)


def run_schemathesis(api: Api, *, examples: int, seed: int | None,
                     extra: Sequence[str] = (), timeout: float = 1_800) -> FuzzRun:
    """``st run --checks all`` over every phase against ``api`` (the fuzzer's admin token)."""
    cli = Path(sys.executable).with_name("st")
    command = [str(cli), "--no-color", "--config-file", str(CONFIG), "run",
               f"{api.url}/openapi.json", "--checks", "all", "--phases", PHASES,
               "--max-examples", str(examples), "--workers", "1",
               "--header", f"Authorization: Bearer {api.tokens['fuzzer']}", *extra]
    if seed is not None:
        command += ["--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          check=False)
    return FuzzRun(done.returncode, done.stdout + done.stderr)
