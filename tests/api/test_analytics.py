"""``/api/analytics``: counts and series over a window; MTTR/MTTD say how they were computed."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, note
from tests.api.test_investigations import _problem

DAY = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}


def _inv(client: Any, **fields: Any) -> int:
    response = client.post("/api/investigations", json={"title": "t", **fields})
    assert response.status_code == 201, response.text
    inv_id: int = response.json()["id"]
    return inv_id


def test_mttr_and_mttd_explain_themselves(api: Api) -> None:
    client = api.client("responder")
    a = _inv(client, status="resolved", impact_started_at="2026-01-01T10:00:00Z",
             detected_at="2026-01-01T10:10:00Z", resolved_at="2026-01-01T11:00:00Z",
             services=["api"])
    b = _inv(client, status="resolved", detected_at="2026-01-01T12:00:00Z",
             resolved_at="2026-01-01T12:30:00Z")
    c = _inv(client, impact_started_at="2026-01-01T13:00:00Z",
             detected_at="2026-01-01T13:05:00Z")
    _inv(client, status="resolved", impact_started_at="2025-06-01T00:00:00Z",
         resolved_at="2025-06-01T05:00:00Z")  # resolved outside the window
    viewer = api.client("viewer")
    mttr = viewer.get("/api/analytics/mttr", params=DAY).json()
    assert mttr["counted_ids"] == sorted([a, b]) and mttr["count"] == 2
    assert mttr["mean_seconds"] == 2700.0 and mttr["median_seconds"] == 2700.0
    assert "resolved_at - coalesce(impact_started_at, detected_at)" in mttr["formula"]
    assert mttr["window"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    mttd = viewer.get("/api/analytics/mttd", params=DAY).json()
    assert mttd["counted_ids"] == sorted([a, c]) and mttd["mean_seconds"] == 450.0
    assert mttd["excluded"] == {"no impact_started_at": [b]}
    only_api = viewer.get("/api/analytics/mttr", params={**DAY, "service": "api"}).json()
    assert only_api["counted_ids"] == [a] and only_api["filters"] == {"service": "api"}
    empty = viewer.get("/api/analytics/mttr", params={"start": "2024-01-01T00:00:00Z",
                                                      "end": "2024-01-02T00:00:00Z"}).json()
    assert empty["count"] == 0 and empty["mean_seconds"] is None
    _problem(viewer.get("/api/analytics/mttr", params={"start": DAY["end"],
                                                       "end": DAY["start"]}), 422, "validation")


def test_counts_and_buckets(api: Api) -> None:
    client = api.client("responder")
    client.post("/api/events", json=[
        note("a", "2026-01-01T00:10:00Z", service="api", severity="high"),
        note("b", "2026-01-01T00:50:00Z", service="api"),
        {**note("c", "2026-01-01T01:20:00Z", service="db"), "source": "ci", "kind": "deploy"},
        note("old", "2025-01-01T00:00:00Z", service="db"),
    ])
    viewer = api.client("viewer")
    by_source = viewer.get("/api/analytics/events/by-source", params=DAY).json()
    assert by_source["counts"] == {"manual": 2, "ci": 1} and by_source["total"] == 3
    assert by_source["buckets"] is None
    by_sev = viewer.get("/api/analytics/events/by-severity", params=DAY).json()
    assert by_sev["counts"] == {"high": 1, "info": 2}
    series = viewer.get("/api/analytics/events/by-service",
                        params={**DAY, "bucket_seconds": 3600}).json()
    assert series["counts"] == {"api": 2, "db": 1}
    assert [(b["start"], b["key"], b["count"]) for b in series["buckets"]] == [
        ("2026-01-01T00:00:00Z", "api", 2), ("2026-01-01T01:00:00Z", "db", 1)]
    recent = viewer.get("/api/analytics/events/by-source").json()  # default: last 24 h
    assert recent["total"] == 0
    body = _problem(viewer.get("/api/analytics/events/by-source",
                               params={**DAY, "bucket_seconds": 1}), 422, "validation")
    assert body["errors"][0]["field"] == "query.bucket_seconds"
