"""GitHub Actions objects (webhooks and REST) -> events.

Pipelines (workflow runs), jobs and deployments are reported when they *start*
and when they *finish*; each phase has one dedup key
(``github:<what>:<repo>:<id>[:<attempt>]:<phase>``), so ``requested`` then
``in_progress`` is one "started" event, and a webhook plus a REST poll of the same
run store it once. Push webhooks become ``git`` commit events keyed by the sha --
the key the local git connector uses -- so a commit seen both ways is one event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from connectors.errors import PoisonRecordError
from storage.models import EventKind, NewEvent, Severity, Source

HANDLED = frozenset({"workflow_run", "workflow_job", "deployment_status", "push"})
STARTED = frozenset({"requested", "in_progress", "queued", "pending", "waiting"})
FAILED = frozenset({"failure", "timed_out", "startup_failure", "error"})
CONCLUSION_SEVERITY = {
    "success": Severity.INFO, "neutral": Severity.INFO, "skipped": Severity.INFO,
    "cancelled": Severity.LOW, "action_required": Severity.MEDIUM, "stale": Severity.LOW,
}


def webhook_record(event_type: str, delivery: str, payload: bytes) -> bytes:
    """The raw record for one delivery (what the DLQ keeps and replay re-parses)."""
    return orjson.dumps({"event": event_type, "delivery": delivery,
                         "payload": orjson.Fragment(payload)})


def parse_webhook(raw: bytes) -> list[NewEvent]:
    """Events of one webhook record; ``[]`` for actions we do not report."""
    try:
        record = orjson.loads(raw)
        event_type, payload = record["event"], record["payload"]
        delivery = record.get("delivery")
        return _dispatch(event_type, payload, delivery)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PoisonRecordError(f"GitHub webhook not understood: {exc!r}", payload=raw) from exc


def _dispatch(event_type: str, payload: dict[str, Any], delivery: str | None) -> list[NewEvent]:
    repo = payload["repository"]["full_name"]
    if event_type == "workflow_run":
        return _opt(run_event(payload["workflow_run"], repo, delivery=delivery))
    if event_type == "workflow_job":
        return _opt(job_event(payload["workflow_job"], repo, payload.get("deployment"),
                              delivery=delivery))
    if event_type == "deployment_status":
        return _opt(deployment_event(payload, repo, delivery=delivery))
    if event_type == "push":
        return push_events(payload, repo)
    return []


def _opt(event: NewEvent | None) -> list[NewEvent]:
    return [] if event is None else [event]


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _phase(status: str | None) -> str | None:
    if status == "completed":
        return "finished"
    return "started" if status in STARTED else None


def severity_of(conclusion: str | None) -> Severity:
    if conclusion in FAILED:
        return Severity.HIGH
    return CONCLUSION_SEVERITY.get(conclusion or "", Severity.INFO)


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def run_event(run: dict[str, Any], repo: str, *, delivery: str | None = None
              ) -> NewEvent | None:
    """A workflow run (webhook ``workflow_run`` or REST ``/actions/runs``)."""
    phase = _phase(run.get("status"))
    if phase is None:
        return None
    started = _time(run.get("run_started_at")) or _time(run["created_at"])
    finished = _time(run.get("updated_at")) if phase == "finished" else None
    conclusion = run.get("conclusion") if phase == "finished" else None
    attempt = run.get("run_attempt", 1)
    name = run.get("name") or run.get("display_title") or "workflow"
    result = f" {conclusion}" if conclusion else " started"
    return NewEvent(
        source=Source.CI, kind=EventKind.PIPELINE, severity=severity_of(conclusion),
        occurred_at=finished or started or datetime.now(UTC),
        title=f"{repo}: {name} #{run.get('run_number', '?')}{result} "
              f"on {run.get('head_branch') or '?'}",
        service=repo.rsplit("/", 1)[-1], commit_sha=run.get("head_sha"),
        url=run.get("html_url"),
        attributes=ci_attributes(
            provider="github", phase=phase, result=conclusion, run_id=run["id"],
            pipeline=name, ref=run.get("head_branch"), sha=run.get("head_sha"),
            trigger=run.get("event"), attempt=attempt, repository=repo, delivery=delivery,
            duration_s=_duration(started, finished)),
        dedup_key=f"github:run:{repo}:{run['id']}:{attempt}:{phase}",
    )


def job_event(job: dict[str, Any], repo: str, deployment: dict[str, Any] | None = None, *,
              delivery: str | None = None) -> NewEvent | None:
    """A workflow job; a job that targets an environment is a deploy."""
    phase = _phase(job.get("status"))
    if phase is None:
        return None
    started = _time(job.get("started_at"))
    finished = _time(job.get("completed_at")) if phase == "finished" else None
    conclusion = job.get("conclusion") if phase == "finished" else None
    environment = (deployment or {}).get("environment")
    kind = EventKind.DEPLOY if environment else EventKind.JOB
    verb = conclusion or "started"
    where = f" to {environment}" if environment else ""
    return NewEvent(
        source=Source.CI, kind=kind, severity=severity_of(conclusion),
        occurred_at=finished or started or datetime.now(UTC),
        title=f"{repo}: job {job.get('name', '?')}{where} {verb}",
        service=repo.rsplit("/", 1)[-1], environment=environment,
        commit_sha=job.get("head_sha"), url=job.get("html_url"),
        attributes=ci_attributes(
            provider="github", phase=phase, result=conclusion, run_id=job.get("run_id"),
            job_id=job["id"], pipeline=job.get("workflow_name"), job=job.get("name"),
            ref=job.get("head_branch"), sha=job.get("head_sha"), repository=repo,
            environment=environment, delivery=delivery,
            duration_s=_duration(started, finished)),
        dedup_key=f"github:job:{repo}:{job['id']}:{job.get('run_attempt', 1)}:{phase}",
    )


def deployment_event(payload: dict[str, Any], repo: str, *, delivery: str | None = None
                     ) -> NewEvent | None:
    """A ``deployment_status`` webhook."""
    status, deployment = payload["deployment_status"], payload["deployment"]
    state = status.get("state")
    phase = "finished" if state in ("success", "failure", "error") else \
        "started" if state in ("in_progress", "queued", "pending") else None
    if phase is None:
        return None
    environment = status.get("environment") or deployment.get("environment")
    result = state if phase == "finished" else None
    begun = _time(deployment.get("created_at"))
    at = _time(status.get("updated_at") or status.get("created_at"))
    return NewEvent(
        source=Source.CI, kind=EventKind.DEPLOY, severity=severity_of(result),
        occurred_at=at or begun or datetime.now(UTC),
        title=f"{repo}: deploy of {deployment.get('ref', '?')} to {environment} "
              f"{result or 'started'}",
        service=repo.rsplit("/", 1)[-1], environment=environment,
        commit_sha=deployment.get("sha"),
        url=status.get("target_url") or status.get("log_url") or deployment.get("url"),
        attributes=ci_attributes(
            provider="github", phase=phase, result=result, deployment_id=deployment["id"],
            ref=deployment.get("ref"), sha=deployment.get("sha"), repository=repo,
            environment=environment, delivery=delivery,
            duration_s=_duration(begun, at) if phase == "finished" else None),
        dedup_key=f"github:deploy:{repo}:{deployment['id']}:{phase}",
    )


def push_events(payload: dict[str, Any], repo: str) -> list[NewEvent]:
    """One commit event per pushed commit (keyed by sha, like the git connector)."""
    ref = payload.get("ref")
    out = []
    for commit in payload.get("commits") or []:
        message = str(commit.get("message", ""))
        author = (commit.get("author") or {}).get("name")
        out.append(NewEvent(
            source=Source.GIT, kind=EventKind.COMMIT,
            occurred_at=_time(commit["timestamp"]) or datetime.now(UTC),
            title=(message.splitlines() or ["(no message)"])[0][:500] or "(no message)",
            body=message, service=repo.rsplit("/", 1)[-1], commit_sha=commit["id"],
            url=commit.get("url"),
            attributes={"repository": repo, "ref": ref, "author": author,
                        "pusher": (payload.get("pusher") or {}).get("name"),
                        "vcs.ref.head.revision": commit["id"]},
            dedup_key=commit["id"],
        ))
    return out


def ci_attributes(**fields: Any) -> dict[str, Any]:
    """Attributes with the OpenTelemetry CICD names alongside ours (None dropped)."""
    out = {k: v for k, v in fields.items() if v is not None}
    if "pipeline" in out:
        out["cicd.pipeline.name"] = out["pipeline"]
    if "run_id" in out:
        out["cicd.pipeline.run.id"] = out["run_id"]
    if "result" in out:
        out["cicd.pipeline.result"] = out["result"]
    if "environment" in out:
        out["deployment.environment.name"] = out["environment"]
    return out
