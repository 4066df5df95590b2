"""GitLab's documented hooks (go-gitlab testdata) and REST replies (GitLab's API docs).

Times worked out by hand: hook times are ``... UTC`` or carry an offset
(``2021-04-28 21:50:00 +0200`` is 19:50:00 UTC); REST times are ISO 8601 ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from connectors.ci.gitlab import GitLabConfig, GitLabConnector, parse_hook
from storage import Store
from storage.models import EventKind, NewInvestigation, Severity, Source

SAMPLES = Path(__file__).parent / "gitlab"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_pipeline_hook_manual_production_job_is_not_a_deploy() -> None:
    pipeline, production = parse_hook((SAMPLES / "pipeline.json").read_bytes())
    assert pipeline.kind is EventKind.PIPELINE and pipeline.source is Source.CI
    assert pipeline.occurred_at == _at("2016-08-12T15:26:29")
    assert pipeline.attributes["duration_s"] == 63 and pipeline.attributes["ran"] is True
    assert pipeline.dedup_key == "gitlab:pipeline:gitlab-org/gitlab-test:31:finished"
    assert pipeline.service == "gitlab-test" and pipeline.severity is Severity.INFO
    # Build 380: manual, status "skipped", never started -> a job that did not run.
    assert production.kind is EventKind.JOB and production.environment == "production"
    assert production.attributes["ran"] is False
    assert production.attributes["phase"] == "not_run" and production.attributes["manual"]
    assert production.dedup_key == "gitlab:deploy:gitlab-org/gitlab-test:380:not_run"
    assert production.occurred_at == _at("2016-08-12T15:23:28")   # only created_at is known
    assert "not run (skipped)" in production.title
    # "staging" (379, created, no environment block) is not reported.


def test_job_hook_deploy_to_production() -> None:
    [deploy] = parse_hook((SAMPLES / "job.json").read_bytes())
    assert deploy.kind is EventKind.DEPLOY and deploy.environment == "production"
    assert deploy.occurred_at == _at("2023-01-10T13:50:54")
    assert deploy.attributes["duration_s"] == 49.503592
    # No project object in this hook: the path comes from repository.homepage.
    assert deploy.dedup_key == "gitlab:deploy:jsmithy2/release-tools-fake:3580121225:finished"
    assert deploy.service == "release-tools-fake"
    assert deploy.commit_sha == "95d49d1efbd941908580e79d65e4b5ecaf4a8305"
    assert deploy.attributes["run_id"] == 743121198 and deploy.attributes["ran"] is True


def test_job_hook_created_job_is_not_reported() -> None:
    assert parse_hook((SAMPLES / "build.json").read_bytes()) == []


def test_deployment_hook() -> None:
    [deploy] = parse_hook((SAMPLES / "deployment.json").read_bytes())
    assert deploy.kind is EventKind.DEPLOY and deploy.environment == "staging"
    assert deploy.occurred_at == _at("2021-04-28T19:50:00")       # 21:50:00 +0200
    # Keyed by the deploying job (deployable_id 796), as the other two hooks key it.
    assert deploy.dedup_key == "gitlab:deploy:root/test-deployment-webhooks:796:finished"
    assert deploy.commit_sha == "279484c09fbe69ededfced8c1bb6e6d24616b468"
    assert deploy.service == "test-deployment-webhooks" and deploy.attributes["ran"] is True


def test_deploy_seen_by_all_three_hooks_is_one_key() -> None:
    """The Pipeline Hook's build 380, played later and reported by a Job Hook and a
    Deployment Hook of the same project: one key per phase, so one stored event."""
    pipeline = orjson.loads((SAMPLES / "pipeline.json").read_bytes())
    build = {**pipeline["builds"][0], "status": "success", "manual": False,
             "started_at": "2016-08-12 15:30:00 UTC", "finished_at": "2016-08-12 15:31:00 UTC"}
    from_pipeline = parse_hook(orjson.dumps({**pipeline, "builds": [build]}))[1]
    job = orjson.loads((SAMPLES / "job.json").read_bytes())
    job = {**job, "build_id": 380, "repository": {
        **job["repository"], "homepage": "http://192.168.64.1:3005/gitlab-org/gitlab-test"}}
    [from_job] = parse_hook(orjson.dumps(job))
    deployment = orjson.loads((SAMPLES / "deployment.json").read_bytes())
    deployment = {**deployment, "deployable_id": 380,
                  "project": {**deployment["project"],
                              "path_with_namespace": "gitlab-org/gitlab-test"}}
    [from_deployment] = parse_hook(orjson.dumps(deployment))
    keys = {from_pipeline.dedup_key, from_job.dedup_key, from_deployment.dedup_key}
    assert keys == {"gitlab:deploy:gitlab-org/gitlab-test:380:finished"}


async def test_numeric_project_id_is_resolved_once_and_matches_the_hook() -> None:
    """``project = "21"``: the documented pipeline 287 of project 21 lives at
    test-group/test-project (its web_url); the project lookup is asked once."""
    single = orjson.loads((SAMPLES / "rest_pipeline_287.json").read_bytes())
    listed = {k: single[k] for k in ("id", "iid", "project_id", "status", "source", "ref",
                                     "sha", "name", "web_url", "created_at", "updated_at")}
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v4/projects/21":
            return httpx.Response(200, json={"id": 21,
                                             "path_with_namespace": "test-group/test-project"})
        if request.url.path.endswith("/pipelines"):
            return httpx.Response(200, json=[listed])
        return httpx.Response(200, json=single)

    connector = GitLabConnector(GitLabConfig(name="gl", url="http://gl.test", project="21"),
                                httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                                clock=lambda: 1_663_722_400.0)
    [event] = (await connector.poll(None)).events
    await connector.poll("1663722400")
    assert calls.count("/api/v4/projects/21") == 1
    assert event.service == "test-project"
    assert event.dedup_key == "gitlab:pipeline:test-group/test-project:287:finished"
    # finished_at, not updated_at (01:05:50.185); duration from GitLab, not computed.
    assert event.occurred_at == datetime(2022, 9, 21, 1, 5, 50, 175000, tzinfo=UTC)
    assert event.attributes["duration_s"] == 34
    hook = orjson.loads((SAMPLES / "pipeline.json").read_bytes())
    hook["object_attributes"]["id"] = 287
    hook["project"]["path_with_namespace"] = "test-group/test-project"
    assert parse_hook(orjson.dumps(hook))[0].dedup_key == event.dedup_key


@pytest.mark.parametrize(("status", "started", "kind", "phase"), [
    ("skipped", None, EventKind.JOB, "not_run"),
    ("manual", None, EventKind.JOB, "not_run"),
    ("canceled", None, EventKind.JOB, "not_run"),
    ("canceled", "2016-08-12 15:24:00 UTC", EventKind.DEPLOY, "finished"),
    ("running", "2016-08-12 15:24:00 UTC", EventKind.DEPLOY, "started"),
    ("success", "2016-08-12 15:24:00 UTC", EventKind.DEPLOY, "finished"),
    ("failed", "2016-08-12 15:24:00 UTC", EventKind.DEPLOY, "finished"),
    ("created", None, None, None), ("pending", None, None, None),
    ("waiting_for_resource", None, None, None), ("preparing", None, None, None),
    ("scheduled", None, None, None),
])
def test_every_job_status_of_the_production_build(status: str, started: str | None,
                                                  kind: EventKind | None,
                                                  phase: str | None) -> None:
    """Build 380 of the Pipeline Hook sample in each status GitLab documents for jobs."""
    hook = orjson.loads((SAMPLES / "pipeline.json").read_bytes())
    hook["builds"] = [{**hook["builds"][0], "status": status, "started_at": started}]
    events = parse_hook(orjson.dumps(hook))[1:]
    if kind is None:
        assert events == []
        return
    [event] = events
    assert (event.kind, event.attributes["phase"]) == (kind, phase)
    assert event.attributes["ran"] is (phase != "not_run")


def test_pipeline_blocked_on_a_manual_job_is_not_reported_as_never_run() -> None:
    hook = orjson.loads((SAMPLES / "pipeline.json").read_bytes())
    hook["object_attributes"]["status"] = "manual"
    assert [e.kind for e in parse_hook(orjson.dumps(hook))] == [EventKind.JOB]
    hook["object_attributes"]["status"] = "skipped"
    pipeline = parse_hook(orjson.dumps(hook))[0]
    assert pipeline.kind is EventKind.PIPELINE and pipeline.attributes["ran"] is False


def test_skipped_production_job_is_no_suspect(sqlite_store: Store) -> None:
    """Issue 9, item 7: the documented Pipeline Hook stored, then an incident 10 minutes
    after it: the manual production job that never ran is not ranked as a change."""
    from workbench.correlation import rank_suspects

    sqlite_store.ingest(parse_hook((SAMPLES / "pipeline.json").read_bytes()))
    investigation = sqlite_store.create_investigation(NewInvestigation(
        title="errors after pipeline 31", services=("gitlab-test",),
        impact_started_at=datetime(2016, 8, 12, 15, 36, 29, tzinfo=UTC)))
    suspects = rank_suspects(sqlite_store, investigation)
    assert [s.event.dedup_key for s in suspects] == [
        "gitlab:pipeline:gitlab-org/gitlab-test:31:finished"]


def test_replay_before_the_id_is_resolved_uses_the_web_url() -> None:
    connector = GitLabConnector(GitLabConfig(name="gl", url="http://gl.test", project="21"),
                                httpx.AsyncClient())
    event = connector.parse((SAMPLES / "rest_pipeline_287.json").read_bytes())
    assert event.dedup_key == "gitlab:pipeline:test-group/test-project:287:finished"


def test_out_of_range_or_zoneless_time_is_a_dead_letter_not_a_crash() -> None:
    """Times go through storage.times: an overflowing offset or a missing zone is a
    PoisonRecordError for the DLQ (the receiver keeps running), not OverflowError."""
    from connectors.errors import PoisonRecordError

    for finished in ("9999-12-31 23:00:00 -0100", "2016-08-12 15:26:29"):
        hook = orjson.loads((SAMPLES / "pipeline.json").read_bytes())
        hook["object_attributes"]["finished_at"] = finished
        with pytest.raises(PoisonRecordError):
            parse_hook(orjson.dumps(hook))
