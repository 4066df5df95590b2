"""CI webhooks with the field samples over real HTTP: form-encoded GitHub deliveries,
GitLab Job and Deployment Hooks, and a refusal that names an unset secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.ci.signatures import github_signature
from storage import Store
from storage.models import EventKind
from storage.queries import EventQuery
from tests.network.servers import receiver_app, serve_app

FIELD = Path(__file__).parents[1] / "field" / "ci"
SECRET = "form-secret"
TOKEN = "gitlab-token"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def base(store: Store, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "gh").write_text(SECRET)
    (tmp_path / "gl").write_text(TOKEN)
    app = receiver_app(store, github_secret=f"file:{tmp_path / 'gh'}",
                       gitlab_token=f"file:{tmp_path / 'gl'}")
    with serve_app(app) as url:
        yield url


def _events(store: Store) -> list[Any]:
    return store.list_events(EventQuery(limit=100, order="asc")).items


def _post_github(base: str, event: str, body: bytes, ctype: str) -> httpx.Response:
    return httpx.post(f"{base}/api/webhooks/github", content=body, headers={
        "X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(SECRET, body), "Content-Type": ctype})


def test_form_encoded_github_delivery_is_stored(base: str, store: Store) -> None:
    sample = (FIELD / "github" / "workflow_job_completed.failure.with-organization.json")
    body = sample.read_bytes()
    form = str(httpx.QueryParams({"payload": body.decode()})).encode()
    reply = _post_github(base, "workflow_job", form, FORM)
    assert reply.status_code == 200 and reply.json()["stored"] == 1, reply.text
    # The same delivery as JSON (GitHub's "redeliver" after switching the hook) dedups.
    assert _post_github(base, "workflow_job", body, "application/json").json()[
        "deduplicated"] == 1
    [job] = _events(store)
    assert job.kind is EventKind.JOB and job.attributes["result"] == "failure"
    assert job.occurred_at.isoformat() == "2021-08-05T10:38:16+00:00"


def test_form_without_payload_field_is_dead_lettered(base: str, store: Store) -> None:
    reply = _post_github(base, "workflow_run", b"other=1", FORM)
    assert reply.status_code == 200 and reply.json()["dead_lettered"] == 1
    [letter] = store.list_dead_letters(connector="github-webhook").items
    assert "without a 'payload' field" in letter.message and b"other=1" in letter.payload


def test_waiting_job_webhook_stores_nothing(base: str, store: Store) -> None:
    body = (FIELD / "github" / "workflow_job_queued.with-deployment.json").read_bytes()
    reply = _post_github(base, "workflow_job", body, "application/json")
    assert reply.status_code == 200 and reply.json()["ignored"] == 1
    assert _events(store) == []


@pytest.mark.parametrize(("event", "sample", "keys"), [
    ("Pipeline Hook", "pipeline.json",
     ["gitlab:pipeline:gitlab-org/gitlab-test:31:finished",
      "gitlab:deploy:gitlab-org/gitlab-test:380:not_run"]),
    ("Job Hook", "job.json", ["gitlab:deploy:jsmithy2/release-tools-fake:3580121225:finished"]),
    ("Deployment Hook", "deployment.json",
     ["gitlab:deploy:root/test-deployment-webhooks:796:finished"]),
])
def test_gitlab_hooks_over_http(base: str, store: Store, event: str, sample: str,
                                keys: list[str]) -> None:
    body = (FIELD / "gitlab" / sample).read_bytes()
    for _ in range(2):   # GitLab retries on timeouts: a resend stores nothing new
        reply = httpx.post(f"{base}/api/webhooks/gitlab", content=body, headers={
            "X-Gitlab-Event": event, "X-Gitlab-Token": TOKEN,
            "Content-Type": "application/json"})
        assert reply.status_code == 200, reply.text
    assert sorted(e.dedup_key for e in _events(store)) == sorted(keys)
    changes = [e for e in _events(store) if e.kind is EventKind.DEPLOY]
    assert all(e.attributes["ran"] for e in changes)


def test_unset_secret_is_named_in_the_refusal(store: Store,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WB_TEST_UNSET_GL", raising=False)
    app = receiver_app(store, gitlab_token="env:WB_TEST_UNSET_GL")
    with serve_app(app) as url:
        reply = httpx.post(f"{url}/api/webhooks/gitlab", content=b"{}", headers={
            "X-Gitlab-Event": "Pipeline Hook", "X-Gitlab-Token": "anything"})
    assert reply.status_code == 401
    assert reply.json()["detail"] == ("GitLab webhook token configured as "
                                      "env:WB_TEST_UNSET_GL, but WB_TEST_UNSET_GL is unset")


@pytest.mark.parametrize(("event", "sample", "stored"), [
    ("workflow_run", "workflow_run_completed.json", 1),
    ("workflow_run", "workflow_run_requested.json", 0),
    ("workflow_job", "workflow_job_waiting.json", 0),
    ("workflow_job", "workflow_job_in_progress.json", 1),
    ("workflow_job", "workflow_job_completed.success.with-organization.json", 1),
    ("deployment_status", "deployment_status_payload.json", 1),
    ("push", "push_with-new-branch.json", 1),
    ("push", "push_payload.json", 0),
])
def test_octokit_samples_over_http_and_redelivered(base: str, store: Store, event: str,
                                                    sample: str, stored: int) -> None:
    body = (FIELD / "github" / sample).read_bytes()
    first = _post_github(base, event, body, "application/json").json()
    again = _post_github(base, event, body, "application/json").json()   # a new delivery id
    assert (first["stored"], again["stored"], again["deduplicated"]) == (stored, 0, stored)
    assert len(_events(store)) == stored
