"""The workbench observing itself: OpenTelemetry traces and trace-correlated logs.

Off by default. :func:`~workbench.telemetry.setup.start` turns tracing on when the
``[telemetry]`` table or the standard ``OTEL_*`` variables ask for it; nothing here
imports the OpenTelemetry SDK until then (see :mod:`workbench.telemetry.settings`).
"""
