"""Payloads shaped as the providers document them (mission.md §4 lists the fields).

Trimmed to the documented fields we read plus a few neighbours, with the providers'
own example values where their docs give one.
"""

from __future__ import annotations

from typing import Any

REPO = {"id": 1296269, "name": "Hello-World", "full_name": "octo-org/Hello-World",
        "html_url": "https://github.com/octo-org/Hello-World"}


def workflow_run(action: str = "completed", conclusion: str | None = "failure",
                 run_id: int = 30433642, attempt: int = 1) -> dict[str, Any]:
    """GitHub ``workflow_run`` webhook."""
    status = {"completed": "completed", "requested": "queued",
              "in_progress": "in_progress"}[action]
    return {
        "action": action,
        "workflow_run": {
            "id": run_id, "name": "Build", "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
            "head_branch": "main", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "path": ".github/workflows/build.yml", "run_number": 562, "event": "push",
            "display_title": "Update README.md", "status": status,
            "conclusion": conclusion if action == "completed" else None,
            "workflow_id": 159038, "run_attempt": attempt,
            "html_url": f"https://github.com/octo-org/Hello-World/actions/runs/{run_id}",
            "created_at": "2020-01-22T19:33:08Z", "updated_at": "2020-01-22T19:36:16Z",
            "run_started_at": "2020-01-22T19:33:08Z",
        },
        "workflow": {"id": 159038, "name": "Build"},
        "repository": REPO, "sender": {"login": "octocat"},
    }


def workflow_job(action: str = "completed", environment: str | None = "production"
                 ) -> dict[str, Any]:
    """GitHub ``workflow_job`` webhook; a ``deployment`` when the job targets an environment."""
    payload: dict[str, Any] = {
        "action": action,
        "workflow_job": {
            "id": 2832853555, "run_id": 940463255, "run_attempt": 1,
            "workflow_name": "Deploy", "head_branch": "main",
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d", "name": "deploy",
            "status": "completed" if action == "completed" else action,
            "conclusion": "success" if action == "completed" else None,
            "started_at": "2022-06-15T18:30:10Z", "completed_at": "2022-06-15T18:34:40Z",
            "html_url": "https://github.com/octo-org/Hello-World/actions/runs/940463255/job/2832853555",
            "labels": ["ubuntu-latest"], "steps": [],
        },
        "repository": REPO, "sender": {"login": "octocat"},
    }
    if environment:
        payload["deployment"] = {"id": 42, "environment": environment, "sha": "acb5820c",
                                 "ref": "main", "task": "deploy"}
    return payload


def deployment_status(state: str = "success") -> dict[str, Any]:
    """GitHub ``deployment_status`` webhook."""
    return {
        "action": "created",
        "deployment_status": {
            "id": 1, "state": state, "environment": "production",
            "target_url": "https://example.com/deployment/42/output",
            "log_url": "https://example.com/deployment/42/output",
            "created_at": "2012-07-20T01:19:13Z", "updated_at": "2012-07-20T01:21:13Z",
        },
        "deployment": {"id": 42, "sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",
                       "ref": "topic-branch", "task": "deploy", "environment": "production",
                       "created_at": "2012-07-20T01:19:13Z",
                       "url": "https://api.github.com/repos/octo-org/Hello-World/deployments/42"},
        "repository": REPO, "sender": {"login": "octocat"},
    }


def push() -> dict[str, Any]:
    """GitHub ``push`` webhook with two commits."""
    commit = {"id": "", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
              "distinct": True, "message": "", "timestamp": "2015-05-05T19:40:15-04:00",
              "url": "", "author": {"name": "Codertocat", "email": "c@example.com"},
              "added": [], "removed": [], "modified": ["README.md"]}
    shas = ["6113728f27ae82c7b1a177c8d03f9e96e0adf246", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"]
    commits = [{**commit, "id": sha, "message": f"Update README.md\n\nstep {i}",
                "url": f"https://github.com/octo-org/Hello-World/commit/{sha}"}
               for i, sha in enumerate(shas)]
    return {"ref": "refs/heads/main", "before": "0" * 40, "after": shas[-1],
            "commits": commits, "head_commit": commits[-1], "repository": REPO,
            "pusher": {"name": "Codertocat"}, "sender": {"login": "Codertocat"}}


def gitlab_pipeline_hook(status: str = "failed") -> dict[str, Any]:
    """GitLab Pipeline Hook (``object_kind: pipeline``) with a deploy job."""
    return {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": 31, "iid": 3, "name": "Pipeline for branch: master", "ref": "master",
            "tag": False, "sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
            "before_sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
            "source": "merge_request_event",
            "status": status, "detailed_status": status, "stages": ["build", "test", "deploy"],
            "created_at": "2016-08-12 15:23:28 UTC", "finished_at": "2016-08-12 15:26:29 UTC",
            "duration": 63, "queued_duration": 12,
            "variables": [{"key": "NESTOR_PROD_ENVIRONMENT", "value": "us-west-1"}],
            "url": "http://example.com/gitlab-org/gitlab-test/-/pipelines/31",
        },
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project": {"id": 1, "name": "Gitlab Test", "path_with_namespace": "gitlab-org/gitlab-test",
                    "web_url": "http://example.com/gitlab-org/gitlab-test",
                    "default_branch": "master"},
        "commit": {"id": "bcbb5ec396a2c0f828686f14fac9b80b780504f2", "message": "test\n",
                   "timestamp": "2016-08-12T17:23:21+02:00"},
        "builds": [
            {"id": 380, "stage": "deploy", "name": "production", "status": "success",
             "created_at": "2016-08-12 15:23:28 UTC", "started_at": "2016-08-12 15:26:12 UTC",
             "finished_at": "2016-08-12 15:26:29 UTC", "duration": 17.0,
             "environment": {"name": "production", "action": "start",
                             "deployment_tier": "production"}},
            {"id": 377, "stage": "test", "name": "test-image", "status": "failed",
             "created_at": "2016-08-12 15:23:28 UTC", "started_at": "2016-08-12 15:24:56 UTC",
             "finished_at": "2016-08-12 15:25:26 UTC", "duration": 17.0, "environment": None},
        ],
    }


def gitlab_pipelines() -> list[dict[str, Any]]:
    """``GET /projects/:id/pipelines`` items."""
    return [
        {"id": 47, "iid": 12, "project_id": 1, "status": "success", "source": "push",
         "ref": "new-pipeline", "sha": "a91957a858320c0e17f3a0eca7cfacbff50ea29a",
         "web_url": "https://example.com/foo/bar/pipelines/47",
         "created_at": "2016-08-11T11:28:34.085Z", "updated_at": "2016-08-11T11:32:35.169Z"},
        {"id": 48, "iid": 13, "project_id": 1, "status": "running", "source": "web",
         "ref": "new-pipeline", "sha": "eb94b618fb5865b26e80fdd8ae531b7a63ad851a",
         "web_url": "https://example.com/foo/bar/pipelines/48",
         "created_at": "2016-08-12T10:06:15.358Z", "updated_at": "2016-08-12T10:09:43.166Z"},
    ]


def alertmanager_webhook(status: str = "firing", starts_at: str = "2024-05-01T10:00:00Z"
                         ) -> dict[str, Any]:
    """Alertmanager webhook payload version 4."""
    ends = "0001-01-01T00:00:00Z" if status == "firing" else "2024-05-01T10:05:00Z"
    alert = {"status": status,
             "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical",
                        "instance": "10.0.0.5:9100", "job": "app"},
             "annotations": {"summary": "p99 latency above 500ms"},
             "startsAt": starts_at, "endsAt": ends,
             "generatorURL": "http://prometheus:9090/graph?g0.expr=latency",
             "fingerprint": "c3a8e7ba5d2f6b1e"}
    return {"version": "4", "groupKey": '{}:{alertname="HighLatency"}', "truncatedAlerts": 0,
            "status": status, "receiver": "workbench", "groupLabels": {"alertname": "HighLatency"},
            "commonLabels": alert["labels"], "commonAnnotations": alert["annotations"],
            "externalURL": "http://alertmanager:9093", "alerts": [alert]}


def jaeger_trace(trace_id: str = "5b8efff798038103d269b633813fc60c", error: bool = True
                 ) -> dict[str, Any]:
    """A trace as ``/api/traces`` returns it (µs times, processes map)."""
    root = {"traceID": trace_id, "spanID": "1000000000000001", "operationName": "GET /cart",
            "references": [], "startTime": 1_700_000_000_000_000, "duration": 900_000,
            "tags": [{"key": "span.kind", "type": "string", "value": "server"}],
            "logs": [], "processID": "p1", "warnings": None}
    child = {"traceID": trace_id, "spanID": "1000000000000002", "operationName": "redis GET",
             "references": [{"refType": "CHILD_OF", "traceID": trace_id,
                             "spanID": "1000000000000001"}],
             "startTime": 1_700_000_000_100_000, "duration": 700_000,
             "tags": [{"key": "error", "type": "bool", "value": error}],
             "logs": [{"timestamp": 1_700_000_000_700_000, "fields": [
                 {"key": "event", "type": "string", "value": "exception"},
                 {"key": "exception.type", "type": "string", "value": "TimeoutError"},
                 {"key": "exception.message", "type": "string", "value": "redis timed out"},
                 {"key": "exception.stacktrace", "type": "string", "value": "Traceback ..."}]}],
             "processID": "p2", "warnings": None}
    return {"traceID": trace_id, "spans": [root, child],
            "processes": {"p1": {"serviceName": "cart", "tags": []},
                          "p2": {"serviceName": "redis-client", "tags": []}},
            "warnings": None}
