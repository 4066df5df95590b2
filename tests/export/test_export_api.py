"""``GET /api/investigations/{id}/export`` and ``POST /api/investigations/import`` over real
HTTP on loopback: the same bytes as the CLI's export, a bundle that moves between two
served stores (twice is once), a tampered one refused as a problem naming the section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from storage import Store
from tests.api.conftest import Api, start_api, stop_api
from tests.export.conftest import seeded
from workbench.export.timeline import export_chunks


@pytest.fixture
def served(store: Store) -> Iterator[Api]:
    running = start_api(store)
    yield running
    stop_api(running)


def test_export_formats_and_bundle_move(served: Api, tmp_path: Path) -> None:
    inv_id = seeded(served.store)
    client = served.client("viewer")
    for fmt, media in (("jsonl", "application/x-ndjson"), ("csv", "text/csv")):
        reply = client.get(f"/api/investigations/{inv_id}/export", params={"format": fmt})
        assert reply.status_code == 200 and reply.headers["content-type"].startswith(media)
        assert reply.content == b"".join(export_chunks(served.store, inv_id, fmt))
    bundle = client.get(f"/api/investigations/{inv_id}/export", params={"format": "bundle"})
    assert bundle.status_code == 200
    assert orjson.loads(bundle.content)["manifest"]["counts"]["verdicts"] == 2
    other = start_api(Store.open(tmp_path / "other.db"))
    try:
        writer = other.client("responder")
        first = writer.post("/api/investigations/import", content=bundle.content).json()
        again = writer.post("/api/investigations/import", content=bundle.content).json()
        assert first["created"] and first["links_added"] > 0
        assert again == {**first, "created": False, "events_stored": 0, "links_added": 0,
                         "verdicts_added": 0, "events_present": first["events_stored"]}
        document = orjson.loads(bundle.content)
        document["links"][0]["rule"] = "planted"
        refused = writer.post("/api/investigations/import", content=orjson.dumps(document))
        assert refused.status_code == 422
        assert "checksum of section 'links'" in refused.json()["detail"]
        assert other.client("viewer").post("/api/investigations/import",
                                           content=bundle.content).status_code == 403
    finally:
        stop_api(other)
        other.store.close()


def test_export_of_a_missing_investigation_is_404(served: Api) -> None:
    reply = served.client("viewer").get("/api/investigations/999/export")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
