"""The suspects through every door -- REST API, ``workbench report --format json``, the TUI's
detail text -- on a real store, agree with each other and follow the evidence."""

from __future__ import annotations

import contextlib
import io
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.bench_suspects import Loaded, config_text, load
from benchmarks.suspect_cases import build_case
from storage import Store
from tests.api.conftest import start_api, stop_api
from workbench.config import parse_config

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def case(store: Store, tmp_path: Path) -> Loaded:
    """A dependency's deploy behind errors that name it only through an opaque host."""
    rng = random.Random(5)
    for _ in range(50):
        built = build_case("dep_peer", rng, T0, "api")
        if built.hosts:
            return load(store, [built], tmp_path)[0]
    raise AssertionError("the generator made no opaque-host case")


def test_api_and_report_agree_and_rank_the_dependency_first(store: Store, case: Loaded,
                                                             store_url: str) -> None:
    settings = parse_config(config_text(case.case)).suspects
    assert settings.hosts  # the opaque address is only resolvable through the config
    running = start_api(store)
    app: Any = running.server.server.config.app
    app.state.suspects = settings  # as `workbench serve` does
    try:
        reply = running.client("viewer").get(
            f"/api/investigations/{case.investigation_id}/suspects", params={"limit": 5})
        missing = running.client("viewer").get("/api/investigations/999999/suspects")
        anonymous = running.client(None).get(
            f"/api/investigations/{case.investigation_id}/suspects")
    finally:
        stop_api(running)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["suspects"][0]["event_id"] in case.cause_ids
    top = body["error_direction"]["targets"]
    assert case.case.impacted in {t["service"] for t in top}
    first = body["suspects"][0]
    assert [p["reason"] for p in first["parts"]] == first["reasons"]
    assert any("errors point at" in r for r in first["reasons"])
    assert missing.status_code == 404 and anonymous.status_code == 401
    report = _cli_report(store_url, case)
    assert [s["event_id"] for s in report["suspects"][:5]] == \
        [s["event_id"] for s in body["suspects"]]
    assert report["error_direction"] == body["error_direction"]


def _cli_report(db: str, case: Loaded) -> dict[str, Any]:
    from workbench.cli.main import main

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    with contextlib.redirect_stdout(out):
        assert main(["--db", db, "--config", str(case.config), "report",
                     str(case.investigation_id), "--format", "json"]) == 0
    out.flush()
    document: dict[str, object] = orjson.loads(raw.getvalue())
    return document
