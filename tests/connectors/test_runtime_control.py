"""The thread-safe control facade: a supervisor on its own loop thread, commands from here."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from connectors.breaker import BreakerState
from connectors.control import Control, NotRunningError
from connectors.dlq import ReplayStatus
from connectors.health import RunStatus
from connectors.supervisor import Supervisor
from storage import Store
from storage.models import DeadLetterStatus
from tests.connectors.runtime_fakes import FakeConnector, config, records


def eventually(condition: Callable[[], bool], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.fixture
def running(sqlite_store: Store) -> Iterator[tuple[Control, FakeConnector]]:
    """A supervisor running on a plain loop in a side thread (as under a TUI)."""
    fake = FakeConnector("c", records("c", 100_000, poison_every=50), batch_size=5)
    sup = Supervisor(sqlite_store, [(fake, config("c", interval_seconds=0.001))])
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        async with sup:
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    assert started.wait(10)
    try:
        yield Control(sup), fake
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def test_pause_resume_from_another_thread(running: tuple[Control, FakeConnector]) -> None:
    control, fake = running
    eventually(lambda: fake.polls > 5)
    control.pause("c")
    assert control.snapshot()["c"].status is RunStatus.PAUSED
    eventually(lambda: not control.supervisor.runners["c"].polling)  # in-flight poll done
    frozen = fake.polls
    time.sleep(0.1)
    assert fake.polls == frozen
    control.resume("c")
    eventually(lambda: fake.polls > frozen + 5)
    assert control.snapshot()["c"].status is RunStatus.RUNNING


def test_force_breaker_and_dlq_from_another_thread(
        running: tuple[Control, FakeConnector]) -> None:
    control, fake = running
    control.force_open("c")
    assert control.snapshot()["c"].breaker_state is BreakerState.OPEN
    control.force_close("c")
    assert control.snapshot()["c"].breaker_state is BreakerState.CLOSED
    eventually(lambda: control.snapshot()["c"].dead_lettered >= 2)
    control.pause("c")
    store = control.supervisor.store
    pending = store.list_dead_letters(connector="c").items
    fake.fixed = True
    assert control.replay(pending[0].id, by="tui").status is ReplayStatus.REPLAYED
    assert control.discard(pending[1].id).status is DeadLetterStatus.DISCARDED


def test_unknown_connector_and_not_running(sqlite_store: Store) -> None:
    sup = Supervisor(sqlite_store, [(FakeConnector("x", []), config("x"))])
    control = Control(sup)
    with pytest.raises(NotRunningError):
        control.pause("x")
    with pytest.raises(KeyError, match="no connector named 'y'"):
        control._known("y")


async def test_commands_on_the_loop_run_directly(sqlite_store: Store) -> None:
    fake = FakeConnector("d", records("d", 10))
    async with Supervisor(sqlite_store, [(fake, config("d"))]) as sup:
        control = Control(sup)
        control.pause("d")  # would deadlock if it waited for its own loop
        assert control.snapshot()["d"].status is RunStatus.PAUSED
        with pytest.raises(RuntimeError, match="on the event loop"):
            control.replay(1)
