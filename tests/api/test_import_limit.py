"""The bundle import has its own body limit (issue 16: a bundle of a large investigation
was refused by the 5 MB limit every route shares): over real HTTP, a bundle larger than
``max_body_bytes`` imports, other routes still refuse such bodies, and a bundle over
``max_import_bytes`` is refused with 413 whether it declares its length or not."""

from __future__ import annotations

from pathlib import Path

from storage import Store
from tests.api.conftest import start_api, stop_api
from tests.export.conftest import seeded
from workbench.export.bundle import build_bundle
from workbench.settings.api import ApiSettings


def test_a_bundle_over_the_body_limit_imports_within_the_import_limit(
        tmp_path: Path) -> None:
    source = Store.open(tmp_path / "source.db")
    inv_id = seeded(source)
    document = build_bundle(source, inv_id).document
    source.close()
    assert len(document) > 8_192
    target = Store.open(tmp_path / "target.db")
    api = start_api(target, ApiSettings(port=0, max_body_bytes=4_096,
                                        max_import_bytes=len(document) + 1_000))
    try:
        client = api.client("responder")
        done = client.post("/api/investigations/import", content=document)
        assert done.status_code == 200, done.text
        assert done.json()["created"] is True
        assert client.post("/api/events", content=b" " * 8_192,
                           headers={"Content-Type": "application/json"}).status_code == 413
        padded = document + b" " * 2_000  # still a valid bundle, but over the import limit
        assert client.post("/api/investigations/import", content=padded).status_code == 413
        chunked = client.post("/api/investigations/import",
                              content=iter([document, b" " * 2_000]))  # no Content-Length
        assert chunked.status_code == 413
        again = client.post("/api/investigations/import", content=iter([document]))
        assert again.status_code == 200 and again.json()["created"] is False
    finally:
        stop_api(api)
        target.close()
