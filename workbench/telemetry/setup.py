"""Start and stop tracing: the SDK's provider, sampler, resource and exporter.

Everything is read the way OpenTelemetry documents it: ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` (over the table's ``resource_attributes``),
``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG`` (over ``sample_ratio``),
``OTEL_EXPORTER_OTLP_*`` endpoint, headers, timeout and compression (over
``endpoint``/``headers``), ``OTEL_BSP_*`` for the batch processor and
``OTEL_PROPAGATORS`` for the incoming/outgoing context format.

No global provider is set: the tracer is handed to :mod:`connectors.tracing` and
to the API middleware, so a test can start and stop tracing in one process.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors import tracing
from workbench import __version__
from workbench.telemetry.settings import TelemetrySettings, exporter, traces_endpoint

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
SERVICE_NAME = "workbench"


@dataclass
class Telemetry:
    """Tracing while it runs; :meth:`shutdown` flushes what is buffered."""

    provider: TracerProvider
    exporter_name: str

    def shutdown(self) -> None:
        """Stop tracing and export the spans still in the batch (bounded by its timeout)."""
        tracing.install(None)
        self.provider.shutdown()


def start(settings: TelemetrySettings | None, *, engine: Engine | None = None
          ) -> Telemetry | None:
    """Turn tracing on if the settings or ``OTEL_*`` ask for it; ``None`` when off.

    A bad ``OTEL_TRACES_EXPORTER`` is logged as an error and the workbench runs
    untraced: its own telemetry must never keep it from working.
    """
    try:
        chosen = exporter(settings)
    except ValueError as exc:
        log.error("tracing off: %s", exc)
        return None
    if chosen is None:
        return None
    settings = settings or TelemetrySettings()
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from workbench.telemetry.roots import StagedIds

    # StagedIds: request roots ask the sampler before the SDK builds a span (roots.py).
    provider = TracerProvider(resource=_resource(settings), sampler=_sampler(settings),
                              id_generator=StagedIds())
    provider.add_span_processor(BatchSpanProcessor(_exporter(chosen, settings)))
    tracer = provider.get_tracer("workbench", __version__)
    tracing.install(tracer)
    if engine is not None:
        from workbench.telemetry.sql import trace_statements

        trace_statements(engine)
    log.info("tracing on: exporter %s, service.instance.id %s", chosen,
             provider.resource.attributes.get("service.instance.id"))
    return Telemetry(provider, chosen)


def _resource(settings: TelemetrySettings) -> Resource:
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource

    base: dict[str, str] = {"service.name": SERVICE_NAME, "service.version": __version__,
                            "service.instance.id": str(uuid.uuid4()),
                            **settings.resource_attributes}
    # The variables win over the table (the later merge overrides).
    return Resource.create(base).merge(OTELResourceDetector().detect())


def _sampler(settings: TelemetrySettings) -> Sampler | None:
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None  # the SDK reads OTEL_TRACES_SAMPLER and its argument itself
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    return ParentBased(TraceIdRatioBased(settings.sample_ratio))


def _exporter(name: str, settings: TelemetrySettings) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = None
    if settings.headers and not (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
                                 or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS")):
        headers = dict(settings.headers)
    return OTLPSpanExporter(endpoint=traces_endpoint(settings), headers=headers)
