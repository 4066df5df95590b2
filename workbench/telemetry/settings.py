"""The ``[telemetry]`` table, and how it combines with the standard ``OTEL_*`` variables.

The OpenTelemetry variables win over the table, as every other OpenTelemetry
program does: an operator can point any workbench at a collector without editing
its config. Tracing is on when the table says ``enabled = true`` or
``OTEL_TRACES_EXPORTER`` names an exporter; ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` turns it off whatever the table says. (The SDK's
own default exporter is ``otlp``; the workbench does not export unless asked,
so a laptop without a collector logs no export failures.)

This module imports no OpenTelemetry package: deciding that tracing is off costs
two dictionary lookups.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Exporter = Literal["otlp", "console", "none"]
EXPORTERS: tuple[str, ...] = ("otlp", "console", "none")


class TelemetrySettings(BaseModel):
    """Traces of the workbench's own work (the ``[telemetry]`` table)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    """Export traces (``OTEL_TRACES_EXPORTER`` also turns this on)."""
    exporter: Exporter = "otlp"
    """``otlp`` (OTLP/HTTP protobuf) or ``console`` (spans as JSON on stderr)."""
    endpoint: str | None = None
    """The collector's base URL, like ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces``
    is appended); default ``http://localhost:4318``."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers for the collector (``OTEL_EXPORTER_OTLP_HEADERS`` wins)."""
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of new traces kept (parent-based: a sampled caller's trace is always kept)."""
    resource_attributes: dict[str, str] = Field(default_factory=dict)
    """Extra resource attributes, e.g. ``deployment.environment.name``."""


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def exporter(settings: TelemetrySettings | None,
             environ: Mapping[str, str] | None = None) -> str | None:
    """The exporter to use, or ``None`` when tracing is off."""
    environ = os.environ if environ is None else environ
    if _env(environ, "OTEL_SDK_DISABLED").lower() == "true":
        return None
    chosen = _env(environ, "OTEL_TRACES_EXPORTER").lower()
    if not chosen:
        if settings is None or not settings.enabled:
            return None
        chosen = settings.exporter
    # The variable may list several exporters; the first one we know is used.
    for name in (part.strip() for part in chosen.split(",")):
        if name == "none":
            return None
        if name in EXPORTERS:
            return name
    raise ValueError(f"OTEL_TRACES_EXPORTER={chosen!r}: the workbench supports "
                     f"{', '.join(EXPORTERS)}")


def traces_endpoint(settings: TelemetrySettings,
                    environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP traces URL from the table, or ``None`` to let the ``OTEL_*`` variables decide."""
    environ = os.environ if environ is None else environ
    if (_env(environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or _env(environ, "OTEL_EXPORTER_OTLP_ENDPOINT") or settings.endpoint is None):
        return None
    return settings.endpoint.rstrip("/") + "/v1/traces"
