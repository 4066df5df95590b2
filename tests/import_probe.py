"""Which modules part of the program loads: run it in a fresh interpreter and list
``sys.modules`` at the moments the probe reports.

A probe is Python source run with ``python -c``; it calls ``loaded(*packages)`` for the
loaded modules of those packages and prints one JSON value as its last line. Used by
the tests that keep the OpenTelemetry SDK unloaded while tracing is off, and the TUI's
start-up lean (FastAPI, uvicorn, the connectors, numpy and the PostgreSQL dialect).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

PRELUDE = """
import json, sys
def loaded(*packages):
    inside = tuple(p + "." for p in packages)
    return sorted(m for m in sys.modules if m in packages or m.startswith(inside))
"""


def run_probe(code: str, *args: str, environ: Mapping[str, str] | None = None,
              timeout: float = 120) -> Any:
    """The JSON value the probe printed last (``OTEL_*`` variables are not inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    run = subprocess.run([sys.executable, "-c", PRELUDE + code, *args], capture_output=True,
                         text=True, env={**env, **(environ or {})}, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])
