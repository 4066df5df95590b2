"""The shipped Prometheus alert rules: valid, unit-tested, and about metrics that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from storage import Store

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "prometheus" / "workbench-rules.yml"
UNIT_TESTS = Path(__file__).with_name("alert_rules_test.yml")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


@pytest.fixture
def promtool() -> str:
    if not Path(PROMTOOL).exists():
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return PROMTOOL


def _run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60,
                            cwd=cwd, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_rules_are_valid(promtool: str) -> None:
    assert "SUCCESS" in _run(promtool, "check", "rules", str(RULES))


def test_rules_fire_when_they_should_and_only_then(promtool: str) -> None:
    assert "SUCCESS" in _run(promtool, "test", "rules", UNIT_TESTS.name, cwd=UNIT_TESTS.parent)


@pytest.fixture
def scrape(sqlite_store: Store) -> Iterator[str]:
    """A real /metrics scrape from the API with a live connector runtime registry."""
    from connectors.breaker import BreakerState
    from connectors.health import HealthRegistry
    from tests.api.conftest import start_api, stop_api

    health = HealthRegistry()
    health.register("logs-app", "logs")
    health.update("logs-app", breaker_state=BreakerState.OPEN, stored=12, received=15,
                  dead_lettered=3, last_success_at=datetime(2026, 11, 28, 12, tzinfo=UTC))
    from datetime import timedelta

    from storage.leases import Holder, claim

    with sqlite_store.write() as session:  # an instance holds logs-app's lease
        claim(session=session, names=["connector:logs-app"], holder=Holder.this_process(),
              ttl=timedelta(seconds=30))
    api = start_api(sqlite_store, health=health)
    try:
        client = api.client("admin")
        client.get("/api/events")
        httpx.get(f"{api.url}/api/events")  # a 401 for the auth-failure rule's series
        yield client.get("/metrics").text
    finally:
        stop_api(api)


def test_every_metric_the_rules_use_is_exported(scrape: str, promtool: str) -> None:
    names = set(re.findall(r"\bworkbench_[a-z_]+", RULES.read_text()))
    exported = set(re.findall(r"^(workbench_[a-z_]+)", scrape, flags=re.MULTILINE))
    assert names and names <= exported, sorted(names - exported)
    assert 'workbench_connector_events_total{connector="logs-app",outcome="dead_lettered"} 3.0' \
        in scrape
    assert 'workbench_connector_last_success_timestamp_seconds{connector="logs-app"}' in scrape
    assert 'workbench_connector_lease_held{connector="logs-app"} 1.0' in scrape
    # promtool's linter exits non-zero only for errors; naming advice is printed.
    _run(promtool, "check", "metrics", stdin=scrape)
