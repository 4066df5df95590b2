"""The TUI traces the connectors, grouping and API it runs, as ``serve`` does — except
with the console exporter, which would write spans over the screen."""

from __future__ import annotations

import logging
import os

import pytest

from connectors import tracing
from storage import Store
from storage.models import EventKind, NewEvent, Severity, Source, utcnow
from tests.workbench.test_telemetry_otlp import Receiver
from workbench.cli.tui import _start_telemetry
from workbench.config import Config
from workbench.grouping import group_once
from workbench.telemetry.settings import TelemetrySettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)


def test_the_telemetry_table_turns_tracing_on(sqlite_store: Store) -> None:
    config = Config(telemetry=TelemetrySettings(enabled=True,
                                                endpoint="http://127.0.0.1:9/v1/traces"))
    telemetry = _start_telemetry(config, sqlite_store)
    try:
        assert telemetry is not None and telemetry.exporter_name == "otlp"
        assert tracing.enabled()
    finally:
        if telemetry is not None:
            telemetry.shutdown()
    assert not tracing.enabled()


def test_off_by_default(sqlite_store: Store) -> None:
    assert _start_telemetry(Config(), sqlite_store) is None
    assert not tracing.enabled()


def test_the_console_exporter_is_refused_beside_the_screen(
        sqlite_store: Store, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    with caplog.at_level(logging.WARNING):
        assert _start_telemetry(Config(), sqlite_store) is None
    assert not tracing.enabled()
    assert "console exporter would write over the screen" in caplog.text


def test_the_tui_exports_its_grouping_over_otlp_and_idle_passes_send_nothing(
        sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real OTLP/HTTP from the TUI's telemetry to a loopback receiver: a pass that groups
    is a span with its statements under it; idle passes (and their statements) are not."""
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    receiver = Receiver()
    config = Config(telemetry=TelemetrySettings(enabled=True, endpoint=receiver.url))
    telemetry = _start_telemetry(config, sqlite_store)
    assert telemetry is not None
    try:
        for _ in range(3):
            assert group_once(sqlite_store).examined == 0
        assert telemetry.provider.force_flush()
        assert receiver.spans == []  # not even the idle passes' SELECTs
        sqlite_store.ingest([NewEvent(
            source=Source.METRICS, kind=EventKind.ALERT, severity=Severity.CRITICAL,
            title="checkout latency", service="checkout", occurred_at=utcnow(),
            dedup_key="alert-1")])
        assert group_once(sqlite_store).examined == 1
    finally:
        telemetry.shutdown()
        receiver.server.shutdown()
    [grouping] = receiver.named("grouping.pass")
    resources = {r["service.name"] for r, _ in receiver.spans}
    assert resources == {"workbench"}
    statements = [s for _, s in receiver.spans if s.parent_span_id == grouping.span_id]
    assert {s.name for s in statements} >= {"SELECT", "INSERT"}
