"""GitHub Actions objects (webhooks and REST) -> events.

Runs (pipelines), jobs and deployments are reported when they *start* executing and
when they *finish*, or once as ``not_run`` when they ended without executing (see
:mod:`connectors.ci.common`); each phase has one dedup key
(``github:<what>:<repo>:<id>[:<attempt>]:<phase>``), so a webhook plus a REST poll
of the same run store it once. Push webhooks become ``git`` commit events keyed by
the sha -- the key the local git connector uses -- so a commit seen both ways is one.

Times come from the object's own fields: a run starts at ``run_started_at``; a REST
run has no completion time, so it finishes when its last job completed (the REST
``updated_at`` moves whenever anything touches the run -- PyGithub's recording of a
run from 2022-12-24 has ``updated_at`` 2024-01-29); only a ``completed`` webhook's
``updated_at`` is the moment it finished, because the delivery is sent then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson

from connectors.ci.common import (
    FINISHED,
    NOT_RUN,
    STARTED,
    ci_attributes,
    ci_time,
    job_kind,
    service_of,
    severity_of,
    verb,
)
from connectors.errors import PoisonRecordError
from storage.models import EventKind, NewEvent, Source

HANDLED = frozenset({"workflow_run", "workflow_job", "deployment_status", "push"})
FORM = "application/x-www-form-urlencoded"
NEVER_RAN = frozenset({"skipped", "action_required", "stale", "startup_failure"})
"""Conclusions of a run or job that executed nothing."""
DEPLOY_STATES = {"in_progress": STARTED, "success": FINISHED, "failure": FINISHED,
                 "error": FINISHED}
"""``deployment_status`` states reported; ``queued``/``pending`` have not begun."""


def webhook_record(event_type: str, delivery: str, body: bytes, content_type: str = "") -> bytes:
    """The raw record for one delivery (what the DLQ keeps and replay re-parses).

    GitHub sends JSON, or -- when the hook is set to ``application/x-www-form-urlencoded``
    -- the same JSON in the form field ``payload``. The signature covers the raw body,
    so this runs after the check. A form without ``payload`` keeps the body as text in
    the record, and parsing it then fails with a clear error (DLQ, nothing lost).
    """
    record: dict[str, Any] = {"event": event_type, "delivery": delivery}
    if content_type.split(";")[0].strip().lower() == FORM:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if "payload" not in fields:
            record["form"] = body.decode("utf-8", "replace")
            return orjson.dumps(record)
        body = fields["payload"][0].encode()
    record["payload"] = orjson.Fragment(body)
    return orjson.dumps(record)


def parse_webhook(raw: bytes) -> list[NewEvent]:
    """Events of one webhook record; ``[]`` for actions we do not report."""
    try:
        record = orjson.loads(raw)
        if "form" in record:
            raise ValueError("form-encoded delivery without a 'payload' field")
        event_type, payload = record["event"], record["payload"]
        return _dispatch(event_type, payload, record.get("delivery"))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PoisonRecordError(f"GitHub webhook not understood: {exc!r}", payload=raw) from exc


def _dispatch(event_type: str, payload: dict[str, Any], delivery: str | None) -> list[NewEvent]:
    repo = payload["repository"]["full_name"]
    if event_type == "workflow_run":
        run = payload["workflow_run"]
        # The completed delivery is sent when the run finishes: here updated_at is that.
        return _opt(run_event(run, repo, delivery=delivery, finished_at=ci_time(
            run.get("updated_at")) if run.get("status") == "completed" else None))
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


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def run_phase(run: dict[str, Any]) -> str | None:
    """``started`` while in progress; ``finished``/``not_run`` once completed."""
    status = run.get("status")
    if status == "in_progress":
        return STARTED
    if status != "completed":
        return None
    return NOT_RUN if run.get("conclusion") in NEVER_RAN else FINISHED


def run_event(run: dict[str, Any], repo: str, *, delivery: str | None = None,
              finished_at: datetime | None = None) -> NewEvent | None:
    """A workflow run (webhook ``workflow_run`` or REST ``/actions/runs``).

    ``finished_at`` is when it finished, if known (see the module docstring); without
    it a finished run is dated by its start and has no duration.
    """
    phase = run_phase(run)
    if phase is None:
        return None
    started = ci_time(run.get("run_started_at")) or ci_time(run["created_at"])
    done = finished_at if phase != STARTED else None
    conclusion = run.get("conclusion") if phase != STARTED else None
    attempt = run.get("run_attempt", 1)
    name = run.get("name") or run.get("display_title") or "workflow"
    return NewEvent(
        source=Source.CI, kind=EventKind.PIPELINE, severity=severity_of(conclusion),
        occurred_at=done or started or datetime.now(UTC),
        title=f"{repo}: {name} #{run.get('run_number', '?')} {verb(phase, conclusion)} "
              f"on {run.get('head_branch') or '?'}",
        service=service_of(repo), commit_sha=run.get("head_sha"), url=run.get("html_url"),
        attributes=ci_attributes(
            provider="github", phase=phase, result=conclusion, run_id=run["id"],
            pipeline=name, ref=run.get("head_branch"), sha=run.get("head_sha"),
            trigger=run.get("event"), attempt=attempt, repository=repo, delivery=delivery,
            started_at=_iso(started), finished_at=_iso(done),
            duration_s=_duration(started, done)),
        dedup_key=f"github:run:{repo}:{run['id']}:{attempt}:{phase}",
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def job_phase(job: dict[str, Any]) -> str | None:
    """``started`` once a runner executes it; ``waiting``/``queued`` are not reported."""
    status = job.get("status")
    if status == "in_progress":
        return STARTED
    if status != "completed":
        return None
    conclusion = job.get("conclusion")
    if conclusion in NEVER_RAN or (conclusion == "cancelled" and not _executed(job)):
        return NOT_RUN
    return FINISHED


def _executed(job: dict[str, Any]) -> bool:
    """Whether a runner picked the job up (a cancelled job may never have reached one)."""
    if job.get("runner_name") or job.get("runner_id"):
        return True
    return any(step.get("conclusion") in ("success", "failure")
               for step in job.get("steps") or [] if isinstance(step, dict))


def job_event(job: dict[str, Any], repo: str, deployment: dict[str, Any] | None = None, *,
              delivery: str | None = None) -> NewEvent | None:
    """A workflow job; one that targets an environment and ran is a deploy."""
    phase = job_phase(job)
    if phase is None:
        return None
    # A waiting job already has a started_at (its creation): only a running one began.
    started = ci_time(job.get("started_at")) if phase != NOT_RUN else None
    finished = ci_time(job.get("completed_at")) if phase != STARTED else None
    conclusion = job.get("conclusion") if phase != STARTED else None
    environment = (deployment or {}).get("environment")
    where = f" to {environment}" if environment else ""
    return NewEvent(
        source=Source.CI, kind=job_kind(environment, phase), severity=severity_of(conclusion),
        occurred_at=finished or started or ci_time(job.get("created_at")) or datetime.now(UTC),
        title=f"{repo}: job {job.get('name', '?')}{where} {verb(phase, conclusion)}",
        service=service_of(repo), environment=environment,
        commit_sha=job.get("head_sha"), url=job.get("html_url"),
        attributes=ci_attributes(
            provider="github", phase=phase, result=conclusion, run_id=job.get("run_id"),
            job_id=job["id"], pipeline=job.get("workflow_name"), job=job.get("name"),
            ref=job.get("head_branch"), sha=job.get("head_sha"), repository=repo,
            environment=environment, delivery=delivery, started_at=_iso(started),
            finished_at=_iso(finished), duration_s=_duration(started, finished)),
        dedup_key=f"github:job:{repo}:{job['id']}:{job.get('run_attempt', 1)}:{phase}",
    )


def deployment_event(payload: dict[str, Any], repo: str, *, delivery: str | None = None
                     ) -> NewEvent | None:
    """A ``deployment_status`` webhook: ``in_progress`` starts it, a final state ends it."""
    status, deployment = payload["deployment_status"], payload["deployment"]
    state = status.get("state")
    phase = DEPLOY_STATES.get(state or "")
    if phase is None:
        return None
    environment = status.get("environment") or deployment.get("environment")
    result = state if phase == FINISHED else None
    begun = ci_time(deployment.get("created_at"))
    # A status object is created when the deployment reaches that state.
    at = ci_time(status.get("created_at")) or ci_time(status.get("updated_at"))
    return NewEvent(
        source=Source.CI, kind=EventKind.DEPLOY, severity=severity_of(result),
        occurred_at=at or begun or datetime.now(UTC),
        title=f"{repo}: deploy of {deployment.get('ref', '?')} to {environment} "
              f"{verb(phase, result)}",
        service=service_of(repo), environment=environment,
        commit_sha=deployment.get("sha"),
        url=status.get("target_url") or status.get("log_url") or deployment.get("url"),
        attributes=ci_attributes(
            provider="github", phase=phase, result=result, deployment_id=deployment["id"],
            ref=deployment.get("ref"), sha=deployment.get("sha"), repository=repo,
            environment=environment, delivery=delivery,
            duration_s=_duration(begun, at) if phase == FINISHED else None),
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
            occurred_at=ci_time(commit["timestamp"]) or datetime.now(UTC),
            title=(message.splitlines() or ["(no message)"])[0][:500] or "(no message)",
            body=message, service=service_of(repo), commit_sha=commit["id"],
            url=commit.get("url"),
            attributes={"repository": repo, "ref": ref, "author": author,
                        "pusher": (payload.get("pusher") or {}).get("name"),
                        "vcs.ref.head.revision": commit["id"]},
            dedup_key=commit["id"],
        ))
    return out
