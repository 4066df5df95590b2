"""The TUI traces the connectors, grouping and API it runs, as ``serve`` does — except
with the console exporter, which would write spans over the screen."""

from __future__ import annotations

import logging

import pytest

from connectors import tracing
from storage import Store
from workbench.cli.tui import _start_telemetry
from workbench.config import Config
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
