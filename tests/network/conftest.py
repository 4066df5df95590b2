"""Fixtures for the network sources: real Prometheus/Alertmanager binaries, loopback servers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.network.servers import free_port, run_binary

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


def need_binary(path: str) -> None:
    """Skip (with the reason) when a server binary is not installed."""
    if not Path(path).exists():
        pytest.skip(f"{path} is not installed (Debian package {Path(path).name})")


def prometheus_config(target_port: int, *, rules: Path | None = None,
                      alertmanager_port: int | None = None, scrape_seconds: int = 1) -> str:
    """A minimal config scraping the test's exporter every ``scrape_seconds``."""
    lines = [
        "global:", f"  scrape_interval: {scrape_seconds}s", "  scrape_timeout: 900ms",
        "  evaluation_interval: 1s",
        "scrape_configs:", "  - job_name: app",
        "    static_configs:", f"      - targets: ['127.0.0.1:{target_port}']",
    ]
    if rules is not None:
        lines += ["rule_files:", f"  - {rules}"]
    if alertmanager_port is not None:
        lines += ["alerting:", "  alertmanagers:", "    - static_configs:",
                  f"        - targets: ['127.0.0.1:{alertmanager_port}']"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[object]:
    """A factory: start a real Prometheus on loopback scraping a given exporter port."""
    need_binary(PROMETHEUS)
    stack: list[object] = []

    def start(target_port: int, **kwargs: object) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(prometheus_config(target_port, **kwargs))  # type: ignore[arg-type]
        for attempt in range(3):   # the free port may be taken by a parallel test meanwhile
            port = free_port()
            ctx = run_binary([
                PROMETHEUS, f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / f'tsdb{attempt}'}",
                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            ], ready_url=f"http://127.0.0.1:{port}/-/ready", log=tmp_path / "prometheus.log")
            try:
                ctx.__enter__()
            except AssertionError:
                if attempt == 2:
                    raise
                continue
            stack.append(ctx)
            return f"http://127.0.0.1:{port}"
        raise AssertionError("unreachable")

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)  # type: ignore[attr-defined]
