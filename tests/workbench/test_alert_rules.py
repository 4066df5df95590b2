"""The shipped Prometheus alert rules: valid, unit-tested, and about metrics that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML has no hints; no stubs installed

from storage import Store

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "prometheus" / "workbench-rules.yml"
UNIT_TESTS = Path(__file__).with_name("alert_rules_test.yml")
DASHBOARD = ROOT / "docs" / "grafana" / "workbench-dashboard.json"
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


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_alert_has_a_firing_and_a_silent_case_and_a_runbook() -> None:
    checks = [check for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
              for check in test["alert_rule_test"]]
    for alert in _alerts():
        name = alert["alert"]
        mine = [check for check in checks if check["alertname"] == name]
        assert any(check["exp_alerts"] for check in mine), f"{name} never fires in a test"
        assert any(not check["exp_alerts"] for check in mine), f"{name} is never silent"
        assert alert["annotations"].get("runbook"), f"{name} has no runbook line"


def test_failure_alert_is_a_rate() -> None:
    [failing] = [a for a in _alerts() if a["alert"] == "WorkbenchConnectorFailing"]
    groups = yaml.safe_load(RULES.read_text())["groups"]
    recorded = {r["record"]: r["expr"] for g in groups for r in g["rules"] if "record" in r}
    expr = failing["expr"]
    expr = recorded.get(expr.split(" >")[0].strip(), expr)
    assert "rate(workbench_connector_errors_total" in expr
    assert "rate(workbench_connector_polls_total" in expr


def _dashboard_exprs() -> list[str]:
    panels = orjson.loads(DASHBOARD.read_bytes())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{n}", "expr": expr}
        for n, expr in enumerate(_dashboard_exprs())]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    assert "SUCCESS" in _run(promtool, "check", "rules", str(path))


def _letter_and_link(store: Store) -> None:
    """One dead letter and one grouped link, so their families have samples."""
    from storage import dead_letters
    from storage import investigations as inv_repo
    from storage.models import (
        EventKind,
        LinkReason,
        NewDeadLetter,
        NewEvent,
        NewInvestigation,
        Source,
    )

    store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, title="boom",
                           occurred_at=datetime(2026, 11, 28, 12, tzinfo=UTC),
                           dedup_key="boom")])
    with store.write() as session:
        dead_letters.enqueue(session=session, letter=NewDeadLetter(
            connector="logs-app", payload=b"not json", error_class="NotJson", message="x"))
        inv = inv_repo.create_investigation(session=session,
                                            new=NewInvestigation(title="checkout down"))
        inv_repo.link_events(session=session, investigation_id=inv.id, event_ids=[1],
                             reason=LinkReason.RULE, rule="same_service")


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
    _letter_and_link(sqlite_store)
    api = start_api(sqlite_store, health=health)
    try:
        client = api.client("admin")
        client.get("/api/events")
        httpx.get(f"{api.url}/api/events")  # a 401 for the auth-failure rule's series
        yield client.get("/metrics").text
    finally:
        stop_api(api)


def test_every_metric_the_dashboard_uses_is_exported(scrape: str) -> None:
    names = set(re.findall(r"\bworkbench_[a-z_]+", " ".join(_dashboard_exprs())))
    exported = set(re.findall(r"^(workbench_[a-z_]+)", scrape, flags=re.MULTILINE))
    assert len(names) >= 10 and names <= exported, sorted(names - exported)


def test_every_metric_the_rules_use_is_exported(scrape: str, promtool: str) -> None:
    names = set(re.findall(r"\bworkbench_[a-z_]+", RULES.read_text()))
    exported = set(re.findall(r"^(workbench_[a-z_]+)", scrape, flags=re.MULTILINE))
    assert names and names <= exported, sorted(names - exported)
    app = 'connector="logs-app"'  # labels come sorted by name: tenant last
    assert f'workbench_connector_events_total{{{app},outcome="dead_lettered",tenant="default"}}' \
        ' 3.0' in scrape
    assert f'workbench_connector_last_success_timestamp_seconds{{{app},tenant="default"}}' in scrape
    assert f'workbench_connector_lease_held{{{app},tenant="default"}} 1.0' in scrape
    # promtool's linter exits non-zero only for errors; naming advice is printed.
    _run(promtool, "check", "metrics", stdin=scrape)
