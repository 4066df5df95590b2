"""Tracing is off unless asked for, loads no SDK when off, and reads the standard variables."""

from __future__ import annotations

import json
import logging
import os

import pytest

from connectors import tracing
from tests.import_probe import run_probe
from workbench.config import parse_config
from workbench.telemetry.logs import JsonFormatter
from workbench.telemetry.settings import TelemetrySettings, exporter, traces_endpoint
from workbench.telemetry.setup import start

ON = TelemetrySettings(enabled=True)


@pytest.mark.parametrize(("settings", "environ", "expected"), [
    (None, {}, None),
    (TelemetrySettings(), {}, None),
    (ON, {}, "otlp"),
    (TelemetrySettings(enabled=True, exporter="console"), {}, "console"),
    (None, {"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
    (None, {"OTEL_TRACES_EXPORTER": "zipkin,console"}, "console"),
    (ON, {"OTEL_TRACES_EXPORTER": "none"}, None),
    (ON, {"OTEL_SDK_DISABLED": "true"}, None),
    (None, {"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, None),
    (ON, {"OTEL_SDK_DISABLED": "false"}, "otlp"),
])
def test_exporter_choice(settings: TelemetrySettings | None, environ: dict[str, str],
                         expected: str | None) -> None:
    assert exporter(settings, environ) == expected


def test_unknown_exporter_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="supports otlp, console, none"):
        exporter(None, {"OTEL_TRACES_EXPORTER": "jaeger"})


def test_a_bad_exporter_variable_leaves_the_workbench_running_untraced(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    assert start(ON) is None
    assert not tracing.enabled()
    assert "tracing off: OTEL_TRACES_EXPORTER='jaeger'" in caplog.text


def test_table_endpoint_yields_to_the_variables() -> None:
    settings = TelemetrySettings(enabled=True, endpoint="http://collector:4318/")
    assert traces_endpoint(settings, {}) == "http://collector:4318/v1/traces"
    assert traces_endpoint(settings, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1"}) is None
    assert traces_endpoint(TelemetrySettings(), {}) is None


def test_telemetry_table_is_validated() -> None:
    config = parse_config("[telemetry]\nenabled = true\nsample_ratio = 0.1\n")
    assert config.telemetry.sample_ratio == 0.1
    with pytest.raises(ValueError, match=r"telemetry.sample_ratio"):
        parse_config("[telemetry]\nsample_ratio = 2\n")


# The OpenTelemetry *API* may load anyway (FastAPI imports it when it is installed);
# what must not load is the SDK and its exporters.
OFF_PROBE = """
from workbench.cli import serve
from workbench.api.app import create_app
from workbench.config import parse_config
from workbench.telemetry.setup import start
from storage import Store
config = parse_config(sys.argv[1])
store = Store.open(sys.argv[2])
handle = start(config.telemetry, engine=store.engine)
create_app(store=store, settings=config.api)
print(json.dumps([handle is not None, loaded("opentelemetry.sdk", "opentelemetry.exporter")]))
"""


@pytest.mark.parametrize(("table", "environ", "on"), [
    ("", {}, False),
    ("[telemetry]\nenabled = true\n", {"OTEL_SDK_DISABLED": "true"}, False),
    ("[telemetry]\nenabled = true\nexporter = \"console\"\n", {}, True),
])
def test_no_sdk_import_when_off(tmp_path: object, table: str, environ: dict[str, str],
                                on: bool) -> None:
    started, loaded = run_probe(OFF_PROBE, table, f"{tmp_path}/wb.db", environ=environ)
    assert started is on
    assert bool(loaded) is on, loaded  # the third case proves the probe sees an import


# The TUI's start-up path (``workbench`` with no subcommand) decides the same way.
TUI_PROBE = """
from workbench.cli.tui import _start_telemetry
from workbench.config import parse_config
from storage import Store
config = parse_config(sys.argv[1])
store = Store.open(sys.argv[2])
handle = _start_telemetry(config, store)
print(json.dumps([handle is not None, loaded("opentelemetry.sdk", "opentelemetry.exporter")]))
"""


@pytest.mark.parametrize(("table", "environ", "on"), [
    ("", {}, False),
    ("[telemetry]\nenabled = true\n", {"OTEL_SDK_DISABLED": "true"}, False),
    ("[telemetry]\nenabled = true\nendpoint = \"http://127.0.0.1:9\"\n", {}, True),
])
def test_the_tui_loads_no_sdk_when_off(tmp_path: object, table: str,
                                       environ: dict[str, str], on: bool) -> None:
    started, loaded = run_probe(TUI_PROBE, table, f"{tmp_path}/wb.db", environ=environ)
    assert started is on
    assert bool(loaded) is on, loaded  # the third case proves the probe sees an import


def test_json_log_lines_carry_the_active_span() -> None:
    os.environ.pop("OTEL_TRACES_SAMPLER", None)
    handle = start(TelemetrySettings(enabled=True, exporter="console"))
    assert handle is not None
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "poll %s", ("failed",), None)
    try:
        with tracing.span("connector.poll") as span:
            line = json.loads(JsonFormatter().format(record))
    finally:
        handle.shutdown()
    assert line["message"] == "poll failed" and line["level"] == "warning"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in json.loads(JsonFormatter().format(record))
