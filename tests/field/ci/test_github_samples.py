"""octokit/webhooks payload examples and PyGithub's recorded REST replies -> exact events.

Times were worked out by hand from the samples (all already in UTC, ``Z``); see SOURCE.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.ci.github import GitHubActionsConfig, GitHubActionsConnector
from connectors.ci.github_events import parse_webhook, webhook_record
from storage.models import EventKind, NewEvent, Severity, Source

HERE = Path(__file__).parent
HOOKS = HERE / "github"
REPLIES = HERE / "pygithub"


def _hook(event: str, name: str) -> list[NewEvent]:
    return parse_webhook(webhook_record(event, "d-1", (HOOKS / name).read_bytes()))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_workflow_run_completed() -> None:
    [run] = _hook("workflow_run", "workflow_run_completed.json")
    assert run.source is Source.CI and run.kind is EventKind.PIPELINE
    assert run.severity is Severity.INFO and run.service == "octo-repo"
    # run_started_at 16:33:49; the completed delivery's updated_at 16:33:49 is its end.
    assert run.occurred_at == _at("2020-10-05T16:33:49")
    assert run.attributes["duration_s"] == 0
    assert run.attributes["ran"] is True and run.attributes["result"] == "success"
    assert run.dedup_key == "github:run:octo-org/octo-repo:289782451:1:finished"
    assert run.commit_sha == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    # name "" falls back to the display title
    assert "ci(action): update actions/setup-node digest to 8c91899 #163 success" in run.title


@pytest.mark.parametrize("name", ["workflow_run_requested.json"])
def test_queued_run_is_not_reported(name: str) -> None:
    assert _hook("workflow_run", name) == []


@pytest.mark.parametrize("name", ["workflow_job_waiting.json",
                                  "workflow_job_queued.with-deployment.json"])
def test_waiting_job_is_no_deploy_start(name: str) -> None:
    """Held for an environment approval (the second one targets environment Test): no
    deploy has begun, whatever ``started_at`` says."""
    assert _hook("workflow_job", name) == []


def test_workflow_job_in_progress_then_completed() -> None:
    [started] = _hook("workflow_job", "workflow_job_in_progress.json")
    assert started.kind is EventKind.JOB and started.attributes["phase"] == "started"
    assert started.occurred_at == _at("2021-09-13T02:21:13")
    assert started.dedup_key == "github:job:Codertocat/Hello-World:289782451:1:started"
    [ok] = _hook("workflow_job", "workflow_job_completed.success.with-organization.json")
    [bad] = _hook("workflow_job", "workflow_job_completed.failure.with-organization.json")
    for event, severity in ((ok, Severity.INFO), (bad, Severity.HIGH)):
        assert event.occurred_at == _at("2021-08-05T10:38:16") and event.severity is severity
        assert event.attributes["duration_s"] == 198     # 10:34:58 -> 10:38:16
        assert event.dedup_key == "github:job:Codertocat/Hello-World:289782451:1:finished"
        assert event.service == "Hello-World" and event.attributes["ran"] is True


def test_deployment_status_success() -> None:
    [deploy] = _hook("deployment_status", "deployment_status_payload.json")
    assert deploy.kind is EventKind.DEPLOY and deploy.environment == "production"
    assert deploy.occurred_at == _at("2019-05-15T15:20:55")
    assert deploy.attributes["duration_s"] == 2          # created 15:20:53
    assert deploy.commit_sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    assert deploy.dedup_key == "github:deploy:Codertocat/Hello-World:145988746:finished"
    assert deploy.attributes["ran"] is True


def test_push_commits_and_tag_push() -> None:
    [commit] = _hook("push", "push_with-new-branch.json")
    assert commit.source is Source.GIT and commit.kind is EventKind.COMMIT
    assert commit.dedup_key == commit.commit_sha == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert commit.occurred_at == _at("2019-05-15T15:19:25") and commit.title == "Initial commit"
    assert _hook("push", "push_payload.json") == []      # a tag push carries no commits


def test_form_encoded_delivery_is_the_same_event() -> None:
    body = (HOOKS / "workflow_run_completed.json").read_bytes()
    form = httpx.QueryParams({"payload": body.decode()}).__str__().encode()
    as_form = parse_webhook(webhook_record("workflow_run", "d-2", form,
                                           "application/x-www-form-urlencoded"))
    as_json = parse_webhook(webhook_record("workflow_run", "d-2", body, "application/json"))
    assert [e.dedup_key for e in as_form] == [e.dedup_key for e in as_json]
    assert as_form[0].occurred_at == as_json[0].occurred_at


# -- REST (PyGithub's recordings) --------------------------------------------------
def _replies(routes: dict[str, Path]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        for suffix, path in routes.items():
            if request.url.path.endswith(suffix):
                return httpx.Response(200, content=path.read_bytes(),
                                      headers={"content-type": "application/json"})
        return httpx.Response(404, json={"message": "Not Found"})
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_rest_run_is_not_dated_by_updated_at() -> None:
    """Run 3770390952 started 2022-12-24T07:29:12Z; its ``updated_at`` is 2024-01-29.
    Without jobs to date its end it is dated by its start, with no invented duration."""
    config = GitHubActionsConfig(name="gh", repository="PyGithub/PyGithub", fetch_jobs=False)
    client = _replies({"/actions/runs": REPLIES / "runs_created_2022-12-24.json"})
    batch = await GitHubActionsConnector(config, client,
                                         clock=lambda: 1_671_867_000.0).poll(None)
    [run] = batch.events
    assert run.occurred_at == _at("2022-12-24T07:29:12")
    assert "duration_s" not in run.attributes and run.attributes["phase"] == "finished"


async def test_rest_run_finishes_with_its_last_job() -> None:
    listing: dict[str, Any] = {"total_count": 1, "workflow_runs": [orjson.loads(
        (REPLIES / "run_3881497935.json").read_bytes())]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/jobs"):
            return httpx.Response(200, content=(REPLIES / "run_3881497935_jobs.json")
                                  .read_bytes(), headers={"content-type": "application/json"})
        return httpx.Response(200, json=listing)

    config = GitHubActionsConfig(name="gh", repository="PyGithub/PyGithub")
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    batch = await GitHubActionsConnector(config, client,
                                         clock=lambda: 1_673_339_000.0).poll(None)
    run = next(e for e in batch.events if e.kind is EventKind.PIPELINE)
    # started 08:24:19; jobs completed 08:25:28, 08:28:18, 08:25:30, 08:25:46, 08:25:50.
    assert run.occurred_at == _at("2023-01-10T08:28:18")
    assert run.attributes["duration_s"] == 239
    assert run.dedup_key == "github:run:PyGithub/PyGithub:3881497935:1:finished"
    jobs = [e for e in batch.events if e.kind is EventKind.JOB]
    assert len(jobs) == 5 and all(j.attributes["ran"] for j in jobs)
    first = next(j for j in jobs if j.attributes["job_id"] == 10545727758)
    assert first.occurred_at == _at("2023-01-10T08:25:28")
    assert first.attributes["duration_s"] == 60          # 08:24:28 -> 08:25:28
    # The same run delivered by webhook has the same key: stored once either way.
    hook = {"action": "completed", "workflow_run": listing["workflow_runs"][0],
            "repository": {"full_name": "PyGithub/PyGithub"}}
    [from_hook] = parse_webhook(webhook_record("workflow_run", "d-3", orjson.dumps(hook)))
    assert from_hook.dedup_key == run.dedup_key


def _completed_job(**changes: Any) -> dict[str, Any]:
    jobs = orjson.loads((REPLIES / "run_3881497935_jobs.json").read_bytes())["jobs"]
    return {**jobs[0], **changes}


def test_skipped_and_unstarted_cancelled_jobs_never_ran() -> None:
    """Derived from a recorded job: the conclusions GitHub gives jobs that never ran."""
    from connectors.ci.github_events import job_event

    deployment = {"environment": "production"}
    skipped = job_event(_completed_job(conclusion="skipped", runner_id=None,
                                       runner_name=None, steps=[]), "o/r", deployment)
    cancelled = job_event(_completed_job(conclusion="cancelled", runner_id=None,
                                         runner_name=None, steps=[]), "o/r", deployment)
    ran = job_event(_completed_job(conclusion="cancelled"), "o/r", deployment)
    for event in (skipped, cancelled):
        assert event is not None and event.kind is EventKind.JOB
        assert event.attributes["ran"] is False and event.attributes["phase"] == "not_run"
        assert event.effective_dedup_key().endswith(":not_run") and "not run" in event.title
    assert ran is not None and ran.kind is EventKind.DEPLOY and ran.attributes["ran"] is True
