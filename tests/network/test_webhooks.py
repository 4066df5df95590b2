"""GitHub, GitLab and Alertmanager webhooks over real HTTP (uvicorn on loopback)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.ci.signatures import github_signature
from storage import Store
from storage.models import EventKind, Source
from storage.queries import EventQuery
from tests.network import payloads
from tests.network.servers import RECEIVER_AUTH, receiver_app, serve_app

SECRET = "It's a Secret to Everybody"
TOKEN = "gitlab-shared-token"


@pytest.fixture
def receiver(store: Store, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    (tmp_path / "gh").write_text(SECRET + "\n")
    (tmp_path / "gl").write_text(TOKEN)
    app = receiver_app(store, github_secret=f"file:{tmp_path / 'gh'}",
                       gitlab_token=f"file:{tmp_path / 'gl'}")
    with serve_app(app) as base:
        yield base, app


def _github(base: str, event: str, payload: dict[str, Any], *, delivery: str | None = None,
            secret: str = SECRET) -> httpx.Response:
    body = orjson.dumps(payload)
    return httpx.post(f"{base}/api/webhooks/github", content=body, headers={
        "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(secret, body),
        "Content-Type": "application/json"})


def _events(store: Store) -> list[Any]:
    return store.list_events(EventQuery(limit=100, order="asc")).items


def _stats(app: Any) -> dict[str, Any]:
    snapshot: dict[str, Any] = app.state.receiver_state.stats.snapshot()
    return snapshot


def test_github_events_become_events_exactly_once(receiver: tuple[str, Any],
                                                   store: Store) -> None:
    base, app = receiver
    delivery = str(uuid.uuid4())
    assert _github(base, "workflow_run", payloads.workflow_run(), delivery=delivery).json()[
        "stored"] == 1
    again = _github(base, "workflow_run", payloads.workflow_run(), delivery=delivery)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    # GitHub's "redeliver" in the UI sends a new delivery id: content keys still dedup.
    assert _github(base, "workflow_run", payloads.workflow_run()).json()["deduplicated"] == 1
    _github(base, "workflow_job", payloads.workflow_job())
    _github(base, "deployment_status", payloads.deployment_status())
    _github(base, "push", payloads.push())

    events = _events(store)
    by_kind = {e.kind: e for e in events}
    assert sorted(e.kind for e in events) == sorted(
        [EventKind.PIPELINE, EventKind.DEPLOY, EventKind.DEPLOY, EventKind.COMMIT,
         EventKind.COMMIT])
    run = by_kind[EventKind.PIPELINE]
    assert run.source is Source.CI and run.attributes["result"] == "failure"
    assert run.attributes["duration_s"] == 188 and run.attributes["ref"] == "main"
    assert run.commit_sha == "acb5820ced9479c074f688cc328bf03f341a511d"
    assert run.url == "https://github.com/octo-org/Hello-World/actions/runs/30433642"
    deploys = [e for e in events if e.kind is EventKind.DEPLOY]
    assert {e.environment for e in deploys} == {"production"}
    commits = [e for e in events if e.kind is EventKind.COMMIT]
    assert all(e.source is Source.GIT and e.dedup_key == e.commit_sha for e in commits)
    assert _stats(app)["github-webhook"]["redelivered"] == 1


def test_github_started_then_finished(receiver: tuple[str, Any], store: Store) -> None:
    base, _ = receiver
    for action in ("requested", "in_progress", "completed"):
        _github(base, "workflow_run", payloads.workflow_run(action, conclusion="success"))
    phases = [e.attributes["phase"] for e in _events(store)]
    assert phases == ["started", "finished"]


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
def test_github_bad_signature_is_401_counted_and_stores_nothing(
        receiver: tuple[str, Any], store: Store, signature: str | None) -> None:
    base, app = receiver
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": "d-1"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    reply = httpx.post(f"{base}/api/webhooks/github",
                       content=orjson.dumps(payloads.workflow_run()), headers=headers)
    assert reply.status_code == 401
    assert reply.headers["content-type"] == "application/problem+json"
    assert _events(store) == []
    assert _stats(app)["github-webhook"]["unauthorized"] == 1


def test_github_signature_with_wrong_secret_is_refused(receiver: tuple[str, Any],
                                                       store: Store) -> None:
    base, _ = receiver
    assert _github(base, "push", payloads.push(), secret="not the secret").status_code == 401
    assert _events(store) == []


def test_unknown_github_event_is_ignored_and_counted(receiver: tuple[str, Any],
                                                     store: Store) -> None:
    base, app = receiver
    for event in ("ping", "issues", "star"):
        reply = _github(base, event, {"zen": "Keep it logically awesome.",
                                      "repository": payloads.REPO})
        assert reply.status_code == 202 and reply.json()["status"] == "ignored"
    assert _events(store) == []
    assert _stats(app)["github-webhook"]["ignored"] == 3


def test_github_malformed_payload_goes_to_dlq(receiver: tuple[str, Any], store: Store) -> None:
    base, _ = receiver
    reply = _github(base, "workflow_run", {"action": "completed", "repository": payloads.REPO})
    assert reply.status_code == 200 and reply.json()["dead_lettered"] == 1
    [letter] = store.list_dead_letters(connector="github-webhook").items
    assert letter.error_class == "PoisonRecordError" and b"workflow_run" in letter.payload


def test_github_without_configured_secret_refuses_everything(store: Store) -> None:
    with serve_app(receiver_app(store)) as base:
        assert _github(base, "push", payloads.push()).status_code == 401
    assert _events(store) == []


def _gitlab(base: str, payload: Any, token: str | None = TOKEN,
            event: str = "Pipeline Hook") -> httpx.Response:
    headers = {"X-Gitlab-Event": event, "Content-Type": "application/json"}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return httpx.post(f"{base}/api/webhooks/gitlab", content=orjson.dumps(payload),
                      headers=headers)


def test_gitlab_pipeline_hook_exactly_once(receiver: tuple[str, Any], store: Store) -> None:
    base, app = receiver
    for _ in range(2):
        assert _gitlab(base, payloads.gitlab_pipeline_hook()).status_code == 200
    events = _events(store)
    assert sorted(e.kind for e in events) == [EventKind.DEPLOY, EventKind.PIPELINE]
    pipeline = next(e for e in events if e.kind is EventKind.PIPELINE)
    assert pipeline.attributes["result"] == "failure"
    assert pipeline.attributes["duration_s"] == 63
    assert pipeline.occurred_at.isoformat() == "2016-08-12T15:26:29+00:00"
    deploy = next(e for e in events if e.kind is EventKind.DEPLOY)
    assert deploy.environment == "production" and deploy.attributes["result"] == "success"
    assert _stats(app)["gitlab-webhook"]["deduplicated"] == 2


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x"])
def test_gitlab_bad_token_is_401(receiver: tuple[str, Any], store: Store,
                                 token: str | None) -> None:
    base, app = receiver
    assert _gitlab(base, payloads.gitlab_pipeline_hook(), token=token).status_code == 401
    assert _events(store) == []
    assert _stats(app)["gitlab-webhook"]["unauthorized"] == 1


def test_gitlab_other_hooks_are_ignored(receiver: tuple[str, Any], store: Store) -> None:
    base, _ = receiver
    reply = _gitlab(base, {"object_kind": "push"}, event="Push Hook")
    assert reply.status_code == 202
    assert _events(store) == []


def _alertmanager(base: str, payload: Any) -> httpx.Response:
    return httpx.post(f"{base}/api/webhooks/alertmanager", content=orjson.dumps(payload),
                      headers={"Content-Type": "application/json", **RECEIVER_AUTH})


def test_alertmanager_firing_resolved_and_retries(receiver: tuple[str, Any],
                                                  store: Store) -> None:
    base, _ = receiver
    for _ in range(3):   # Alertmanager retries until a 2xx, and repeats notifications
        assert _alertmanager(base, payloads.alertmanager_webhook("firing")).status_code == 200
    _alertmanager(base, payloads.alertmanager_webhook("resolved"))
    _alertmanager(base, payloads.alertmanager_webhook("firing", "2024-05-01T11:00:00Z"))
    events = _events(store)
    assert [e.attributes["status"] for e in events] == ["firing", "resolved", "firing"]
    firing = events[0]
    assert firing.kind is EventKind.ALERT and firing.severity.value == "critical"
    assert firing.service == "checkout" and firing.title.startswith("FIRING: HighLatency")
    assert firing.dedup_key == "alertmanager:c3a8e7ba5d2f6b1e:firing:2024-05-01T10:00:00.000+00:00"
    assert events[1].occurred_at.isoformat() == "2024-05-01T10:05:00+00:00"


def test_alertmanager_wrong_version_is_400_and_dead_lettered(receiver: tuple[str, Any],
                                                             store: Store) -> None:
    base, _ = receiver
    reply = _alertmanager(base, {**payloads.alertmanager_webhook(), "version": "3"})
    assert reply.status_code == 400
    [letter] = store.list_dead_letters(connector="alertmanager-webhook").items
    assert letter.error_class == "UnsupportedPayloadError"
    bad_alert = payloads.alertmanager_webhook()
    bad_alert["alerts"].append({"status": "firing", "labels": "not a dict"})
    bad_alert["alerts"].append({"status": "firing", "labels": {}, "annotations": ["a list"],
                                "startsAt": "2024-05-01T10:00:00Z"})
    bad_alert["alerts"].append({"status": "firing", "labels": {"service": "s" * 300},
                                "startsAt": "2024-05-01T10:00:00Z"})
    reply = _alertmanager(base, bad_alert)
    assert reply.status_code == 200 and reply.json()["dead_lettered"] == 3
    assert len(_events(store)) == 1


def test_receivers_without_any_token_fail_closed(store: Store) -> None:
    """No receiver token and no API authenticator: Alertmanager and OTLP refuse everyone."""
    app = receiver_app(store, alertmanager_token=None, otlp_token=None)
    with serve_app(app) as base:
        alert = httpx.post(f"{base}/api/webhooks/alertmanager",
                           content=orjson.dumps(payloads.alertmanager_webhook("firing")),
                           headers={"Content-Type": "application/json", **RECEIVER_AUTH})
        traces = httpx.post(f"{base}/v1/traces", content=b"",
                            headers={"Content-Type": "application/x-protobuf"})
    assert (alert.status_code, traces.status_code) == (401, 401)
    assert _events(store) == []
