"""The one runtime that ``workbench serve`` and the TUI both start, over real HTTP.

The regression: under ``serve`` the control facade knew only the *enabled*
connectors' parsers, so the API's retry of a disabled connector's dead letter
failed with "not configured", while beside the TUI (which built it from all of
them) it worked. Both now start :class:`workbench.runtime.Runtime`.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from connectors.health import RunStatus
from connectors.logs.parse import RecordRef, encode_envelope
from storage import Store
from storage.models import DeadLetterStatus, NewDeadLetter
from storage.queries import EventQuery
from storage.tokens import create_token
from workbench.api.server import ApiServerError
from workbench.config import Config, parse_config
from workbench.runtime import RuntimeOptions, build_runtime

NOW = datetime(2026, 11, 28, 10, 1, tzinfo=UTC)
LINE = encode_envelope(b'{"ts": "2026-11-28T10:00:00Z", "level": "error", "msg": "parsed at last"}',
                       RecordRef("dev:1", 0, "/var/log/retired.log", NOW))


def _config(tmp_path: Path, port: int = 0) -> Config:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    (logs / "live.log").write_text("")
    glob = orjson.dumps(str(logs / "*.log")).decode()
    return parse_config(
        f"[api]\nport = {port}\n\n[grouping]\nenabled = false\n\n"
        f'[[connectors]]\nkind = "logs"\nname = "live"\npaths = [{glob}]\n\n'
        f'[[connectors]]\nkind = "logs"\nname = "retired"\nenabled = false\n'
        f"paths = [{glob}]\n")


def _seed(store: Store) -> tuple[int, str]:
    """A dead letter of the disabled connector whose payload parses now; a responder token."""
    store.ingest([], dead_letters_=[NewDeadLetter(
        connector="retired", payload=LINE, error_class="PoisonRecordError",
        message="the parser of the day could not read it")])
    letter = store.list_dead_letters(connector="retired").items[0]
    with store.write() as session:
        _, secret = create_token(session=session, name="responder", role="responder")
    return letter.id, secret


async def test_api_replays_a_disabled_connectors_dead_letter(tmp_path: Path) -> None:
    """POST .../retry over loopback: the entry is replayed and its event stored."""
    store = Store.open(tmp_path / "rt.db")
    letter_id, secret = _seed(store)
    runtime = build_runtime(_config(tmp_path), store)
    async with runtime.running():
        assert runtime.api_url is not None and runtime.control is not None
        assert runtime.control.names() == ["live"]  # the disabled one does not run
        async with httpx.AsyncClient(base_url=runtime.api_url, timeout=30,
                                     headers={"Authorization": f"Bearer {secret}"}) as client:
            reply = await client.post(f"/api/connectors/retired/dlq/{letter_id}/retry")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "replayed", reply.json()["message"]
    assert [e.title for e in store.list_events(EventQuery()).items] == ["parsed at last"]
    store.close()


async def test_an_unconfigured_connectors_dead_letter_is_a_clear_409(tmp_path: Path) -> None:
    """A dead letter whose connector is in no config cannot be re-parsed: 409 says why
    (it was a 500 before), and the entry stays pending."""
    store = Store.open(tmp_path / "rt.db")
    _, secret = _seed(store)
    store.ingest([], dead_letters_=[NewDeadLetter(
        connector="gone", payload=LINE, error_class="PoisonRecordError", message="old")])
    letter = store.list_dead_letters(connector="gone").items[0]
    runtime = build_runtime(_config(tmp_path), store)
    async with runtime.running():
        assert runtime.api_url is not None
        async with httpx.AsyncClient(base_url=runtime.api_url, timeout=30,
                                     headers={"Authorization": f"Bearer {secret}"}) as client:
            reply = await client.post(f"/api/connectors/gone/dlq/{letter.id}/retry")
    assert reply.status_code == 409, reply.text
    assert "no connector named 'gone' is configured" in reply.json()["detail"]
    assert store.get_dead_letter(letter.id).status is DeadLetterStatus.PENDING
    store.close()


def _busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


async def test_a_service_that_cannot_start_is_reported_and_the_others_run(
        tmp_path: Path) -> None:
    """TUI policy: the API's port is taken; the connectors still run and the failure is
    reported by name."""
    store = Store.open(tmp_path / "rt.db")
    failed: list[tuple[str, Exception]] = []
    with _busy_port() as busy:
        runtime = build_runtime(_config(tmp_path, busy.getsockname()[1]), store)
        await runtime.start(lambda name, exc: failed.append((name, exc)))
        try:
            assert runtime.supervisor is not None and runtime.supervisor.loop is not None
            assert [name for name, _ in failed] == ["api_service"]
            assert isinstance(failed[0][1], ApiServerError)
        finally:
            await runtime.stop()
    store.close()


async def test_serve_policy_stops_what_started_and_raises(tmp_path: Path) -> None:
    """``serve`` policy: the same failure raises, after the connectors were stopped again."""
    store = Store.open(tmp_path / "rt.db")
    with _busy_port() as busy:
        runtime = build_runtime(_config(tmp_path, busy.getsockname()[1]), store)
        with pytest.raises(ApiServerError):
            await runtime.start()
    assert runtime.supervisor is not None
    assert runtime.supervisor.health.get("live").status is RunStatus.STOPPED
    store.close()


async def test_read_only_runs_nothing_that_writes(tmp_path: Path) -> None:
    """``--read-only``: no connectors, no grouping; the parsers are still known."""
    store = Store.open(tmp_path / "rt.db")
    runtime = build_runtime(_config(tmp_path), store, RuntimeOptions(api=False, read_only=True))
    async with runtime.running():
        assert runtime.supervisor is None and runtime.control is None
        assert runtime.parsers is not None
    store.close()


async def test_read_only_api_refuses_writes(tmp_path: Path) -> None:
    """The TUI's ``--read-only`` reaches the API it starts: reads work, writes are 405."""
    store = Store.open(tmp_path / "rt.db")
    letter_id, secret = _seed(store)
    runtime = build_runtime(_config(tmp_path), store, RuntimeOptions(read_only=True))
    async with runtime.running():
        assert runtime.api_url is not None and runtime.leases is None
        async with httpx.AsyncClient(base_url=runtime.api_url, timeout=30,
                                     headers={"Authorization": f"Bearer {secret}"}) as client:
            read = await client.get("/api/investigations")
            write = await client.post(f"/api/connectors/retired/dlq/{letter_id}/retry")
    assert read.status_code == 200, read.text
    assert write.status_code == 405, write.text
    store.close()
