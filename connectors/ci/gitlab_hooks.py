"""GitLab webhooks and REST pipelines -> events: Pipeline, Job and Deployment Hooks.

Keys: ``gitlab:pipeline:<path>:<pipeline id>:<phase>``, and for a job that deploys
(an environment with action ``start``) ``gitlab:deploy:<path>:<job id>:<phase>`` --
whichever of the Pipeline Hook's ``builds``, the Job Hook or the Deployment Hook
(``deployable_id`` is the job) reports it first is stored; other jobs (Job Hook
only) are ``gitlab:job:<path>:<job id>:<phase>``. ``<path>`` is the project's
``group/name``: hooks carry it (``project.path_with_namespace``, or for Job Hooks
of older GitLab versions the ``repository.homepage``); the pull connector resolves
a numeric id to it, so both sides agree.

Phases are in :mod:`connectors.ci.common`: a ``skipped`` or ``manual`` job, and one
``canceled`` before it began, is ``not_run`` and never a deploy; ``created``,
``pending``, ``waiting_for_resource``, ``preparing`` and ``scheduled`` are not reported.
Hook times look like ``2016-08-12 15:23:28 UTC`` or ``2021-04-28 21:50:00 +0200``;
REST times are ISO 8601: all are read, and a time without a zone is an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

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

HOOKS = frozenset({"Pipeline Hook", "Job Hook", "Deployment Hook"})
"""``X-Gitlab-Event`` values understood."""
RESULT = {"success": "success", "failed": "failure", "canceled": "cancelled",
          "skipped": "skipped", "manual": "manual"}
ENDED = frozenset({"success", "failed"})
NEVER = frozenset({"skipped", "manual"})
"""Job statuses that mean it did not run. A *pipeline* in ``manual`` is blocked on a
manual job after earlier stages may have run: not finished, and not "never ran"."""
PIPELINE_NEVER = frozenset({"skipped"})


def phase_of(status: str | None, began: bool, never: frozenset[str] = NEVER) -> str | None:
    """The phase of a pipeline, job or deployment status (``None``: not reported yet)."""
    if status == "running":
        return STARTED
    if status in ENDED:
        return FINISHED
    if status == "canceled":
        return FINISHED if began else NOT_RUN
    return NOT_RUN if status in never else None


def project_path(project: dict[str, Any], fallback: Any = None) -> str:
    """``group/name`` of a hook's project (or ``fallback``, e.g. a numeric id)."""
    path = project.get("path_with_namespace")
    return str(path if path else fallback if fallback is not None else project.get("id"))


def pipeline_event(attrs: dict[str, Any], project: dict[str, Any]) -> NewEvent | None:
    """A pipeline (hook ``object_attributes`` or a REST pipeline) -> event."""
    status = attrs.get("status")
    began = attrs.get("started_at") is not None or bool(attrs.get("duration"))
    phase = phase_of(status, began, PIPELINE_NEVER)
    if phase is None:
        return None
    path = project_path(project, attrs.get("project_id"))
    result = RESULT.get(status or "") if phase != STARTED else None
    created = ci_time(attrs.get("created_at"))
    started = ci_time(attrs.get("started_at"))
    # REST's updated_at moves on later edits; only finished_at is the end.
    finished = ci_time(attrs.get("finished_at")) if phase != STARTED else None
    duration = attrs.get("duration") if phase == FINISHED else None
    url = attrs.get("url") or attrs.get("web_url") or \
        (f"{project['web_url']}/-/pipelines/{attrs['id']}" if project.get("web_url") else None)
    number = attrs.get("iid", attrs["id"])
    return NewEvent(
        source=Source.CI, kind=EventKind.PIPELINE, severity=severity_of(result),
        occurred_at=finished or started or created or datetime.now(UTC),
        title=f"{path}: pipeline #{number} {verb(phase, result)} on {attrs.get('ref') or '?'}",
        service=service_of(path), commit_sha=attrs.get("sha"), url=url,
        attributes=ci_attributes(
            provider="gitlab", phase=phase, result=result, run_id=attrs["id"],
            pipeline=attrs.get("name") or f"pipeline {number}", ref=attrs.get("ref"),
            sha=attrs.get("sha"), trigger=attrs.get("source"), repository=path, status=status,
            duration_s=duration),
        dedup_key=f"gitlab:pipeline:{path}:{attrs['id']}:{phase}",
    )


def job_event(job: dict[str, Any], *, path: str, sha: str | None, web_url: str | None,
              pipeline_id: Any = None) -> NewEvent | None:
    """One job, in the Pipeline Hook's ``builds[]`` shape (Job Hooks are mapped onto it)."""
    status = job.get("status")
    phase = phase_of(status, job.get("started_at") is not None)
    if phase is None:
        return None
    env = job.get("environment") or {}
    environment = env.get("name") if env.get("action", "start") == "start" else None
    result = RESULT.get(status or "") if phase != STARTED else None
    started = ci_time(job.get("started_at"))
    finished = ci_time(job.get("finished_at")) if phase != STARTED else None
    what = "deploy" if environment else "job"
    where = f" to {environment}" if environment else ""
    return NewEvent(
        source=Source.CI, kind=job_kind(environment, phase), severity=severity_of(result),
        occurred_at=finished or started or ci_time(job.get("created_at")) or
        datetime.now(UTC),
        title=f"{path}: {what} {job.get('name', '?')}{where} {verb(phase, result)}",
        service=service_of(path), environment=environment, commit_sha=sha,
        url=f"{web_url}/-/jobs/{job['id']}" if web_url else None,
        attributes=ci_attributes(
            provider="gitlab", phase=phase, result=result, job_id=job["id"],
            job=job.get("name"), stage=job.get("stage"), sha=sha, repository=path,
            run_id=pipeline_id, environment=environment, status=status,
            manual=job.get("manual") or job.get("when") == "manual" or None,
            started_at=_iso(started), finished_at=_iso(finished),
            duration_s=job.get("duration") if phase == FINISHED else None),
        dedup_key=f"gitlab:{what}:{path}:{job['id']}:{phase}",
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def pipeline_hook(hook: dict[str, Any]) -> list[NewEvent]:
    """A Pipeline Hook: the pipeline, and its jobs that deploy to an environment."""
    project = hook.get("project") or {}
    attrs = hook["object_attributes"]
    path = project_path(project, attrs.get("project_id"))
    pipeline = pipeline_event(attrs, project)
    out = [pipeline] if pipeline else []
    for build in hook.get("builds") or []:
        if not (build.get("environment") or {}).get("name"):
            continue    # plain jobs come with Job Hooks; here only deploys matter
        event = job_event(build, path=path, sha=attrs.get("sha"),
                          web_url=project.get("web_url"), pipeline_id=attrs.get("id"))
        if event is not None:
            out.append(event)
    return out


def job_hook(hook: dict[str, Any]) -> list[NewEvent]:
    """A Job Hook (``object_kind`` ``build``): flat ``build_*`` fields."""
    project = hook.get("project") or {}
    repo = hook.get("repository") or {}
    homepage = repo.get("homepage")
    path = project.get("path_with_namespace") or \
        (urlsplit(homepage).path.strip("/") if homepage else None) or str(hook["project_id"])
    build = {"id": hook["build_id"], "name": hook.get("build_name"),
             "stage": hook.get("build_stage"), "status": hook.get("build_status"),
             "created_at": hook.get("build_created_at"),
             "started_at": hook.get("build_started_at"),
             "finished_at": hook.get("build_finished_at"),
             "duration": hook.get("build_duration"), "environment": hook.get("environment")}
    web_url = project.get("web_url") or homepage
    event = job_event(build, path=path, sha=hook.get("sha"), web_url=web_url,
                      pipeline_id=hook.get("pipeline_id"))
    return [event] if event else []


def deployment_hook(hook: dict[str, Any]) -> list[NewEvent]:
    """A Deployment Hook: keyed by the deploying job, like the other two hooks."""
    project = hook.get("project") or {}
    path = project_path(project)
    status = hook.get("status")
    # A deployment reports no start time; a cancelled one is counted as not run.
    phase = phase_of(status, began=False)
    if phase is None:
        return []
    environment = hook.get("environment")
    result = RESULT.get(status or "") if phase != STARTED else None
    sha = _sha_from(hook.get("commit_url")) or hook.get("short_sha")
    at = ci_time(hook.get("status_changed_at")) or datetime.now(UTC)
    job_id = hook.get("deployable_id")
    return [NewEvent(
        source=Source.CI, kind=job_kind(environment, phase), severity=severity_of(result),
        occurred_at=at, title=f"{path}: deploy of {hook.get('ref') or '?'} to {environment} "
                              f"{verb(phase, result)}",
        service=service_of(path), environment=environment, commit_sha=sha,
        url=hook.get("deployable_url"),
        attributes=ci_attributes(
            provider="gitlab", phase=phase, result=result, job_id=job_id,
            deployment_id=hook.get("deployment_id"), ref=hook.get("ref"), sha=sha,
            repository=path, environment=environment, status=status,
            environment_url=hook.get("environment_external_url")),
        dedup_key=f"gitlab:deploy:{path}:{_deploy_ref(job_id, hook)}:{phase}",
    )]


def _deploy_ref(job_id: Any, hook: dict[str, Any]) -> str:
    """The deploying job's id (the other hooks' key); a deployment without one, its own."""
    return str(job_id) if job_id is not None else f"deployment-{hook['deployment_id']}"


def _sha_from(commit_url: str | None) -> str | None:
    tail = (commit_url or "").rstrip("/").rsplit("/", 1)[-1]
    return tail if len(tail) == 40 and all(c in "0123456789abcdef" for c in tail) else None


PARSERS = {"pipeline": pipeline_hook, "build": job_hook, "deployment": deployment_hook}


def parse_hook(raw: bytes) -> list[NewEvent]:
    """Events of a Pipeline, Job or Deployment Hook body; ``[]`` for unreported states."""
    try:
        hook = orjson.loads(raw)
        parser = PARSERS.get(hook.get("object_kind"))
        if parser is None:
            raise ValueError(f"object_kind {hook.get('object_kind')!r} is not one of "
                             f"{sorted(PARSERS)}")
        return parser(hook)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PoisonRecordError(f"GitLab hook not understood: {exc!r}", payload=raw) from exc
