"""GitLab pipelines: the Pipeline Hook webhook and ``GET /projects/:id/pipelines``.

Pipelines are reported when they start (``running``) and finish (``success``,
``failed``, ``canceled``, ``skipped``), keyed ``gitlab:pipeline:<project>:<id>:<phase>``
so a hook and a poll of the same pipeline store it once. Jobs of a hook that
start an environment are deploys. Hook times look like ``2016-08-12 15:23:28 UTC``;
REST times are ISO 8601: both are read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx
import orjson
from pydantic import Field

from connectors.base import Batch, ConnectorConfig
from connectors.ci.github_events import ci_attributes, severity_of
from connectors.errors import PoisonRecordError
from connectors.http import Limits, check_advances, fetch_json
from connectors.push import dead_letter
from connectors.secrets import SecretRef
from storage.models import EventKind, NewDeadLetter, NewEvent, Source

FINISHED = {"success": "success", "failed": "failure", "canceled": "cancelled",
            "skipped": "skipped"}


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4].replace(" ", "T") + "+00:00"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _phase(status: str | None) -> str | None:
    if status in FINISHED:
        return "finished"
    return "started" if status == "running" else None


def pipeline_event(attrs: dict[str, Any], project: dict[str, Any]) -> NewEvent | None:
    """A pipeline (hook ``object_attributes`` or a REST pipeline) -> event."""
    status = attrs.get("status")
    phase = _phase(status)
    if phase is None:
        return None
    path = str(project.get("path_with_namespace") or project.get("id") or attrs.get("project_id"))
    result = FINISHED.get(status or "") if phase == "finished" else None
    created = _time(attrs.get("created_at"))
    finished = _time(attrs.get("finished_at") or attrs.get("updated_at")) \
        if phase == "finished" else None
    duration = attrs.get("duration")
    if duration is None and created and finished:
        duration = (finished - created).total_seconds()
    url = attrs.get("url") or attrs.get("web_url") or \
        (f"{project['web_url']}/-/pipelines/{attrs['id']}" if project.get("web_url") else None)
    return NewEvent(
        source=Source.CI, kind=EventKind.PIPELINE, severity=severity_of(result),
        occurred_at=finished or _time(attrs.get("started_at")) or created or datetime.now(UTC),
        title=f"{path}: pipeline #{attrs.get('iid', attrs['id'])} {result or 'started'} "
              f"on {attrs.get('ref') or '?'}",
        service=path.rsplit("/", 1)[-1], commit_sha=attrs.get("sha"), url=url,
        attributes=ci_attributes(
            provider="gitlab", phase=phase, result=result, run_id=attrs["id"],
            pipeline=attrs.get("name") or f"pipeline {attrs.get('iid', attrs['id'])}",
            ref=attrs.get("ref"), sha=attrs.get("sha"), trigger=attrs.get("source"),
            repository=path, status=status,
            duration_s=duration if phase == "finished" else None),
        dedup_key=f"gitlab:pipeline:{path}:{attrs['id']}:{phase}",
    )


def deploy_events(hook: dict[str, Any], project: dict[str, Any]) -> list[NewEvent]:
    """Deploys: jobs of a Pipeline Hook that start an environment."""
    out = []
    path = str(project.get("path_with_namespace") or project.get("id"))
    sha = hook["object_attributes"].get("sha")
    for build in hook.get("builds") or []:
        environment = build.get("environment") or {}
        phase = _phase(build.get("status"))
        if not environment.get("name") or environment.get("action", "start") != "start" \
                or phase is None:
            continue
        result = FINISHED.get(build["status"]) if phase == "finished" else None
        at = _time(build.get("finished_at")) or _time(build.get("started_at")) or \
            _time(build.get("created_at")) or datetime.now(UTC)
        out.append(NewEvent(
            source=Source.CI, kind=EventKind.DEPLOY, severity=severity_of(result), occurred_at=at,
            title=f"{path}: deploy {build.get('name', '?')} to {environment['name']} "
                  f"{result or 'started'}",
            service=path.rsplit("/", 1)[-1], environment=environment["name"], commit_sha=sha,
            url=f"{project['web_url']}/-/jobs/{build['id']}" if project.get("web_url") else None,
            attributes=ci_attributes(
                provider="gitlab", phase=phase, result=result, job_id=build["id"],
                job=build.get("name"), sha=sha, repository=path,
                environment=environment["name"], duration_s=build.get("duration")),
            dedup_key=f"gitlab:deploy:{path}:{build['id']}:{phase}",
        ))
    return out


def parse_hook(raw: bytes) -> list[NewEvent]:
    """Events of a Pipeline Hook body; ``[]`` for a state that is not reported."""
    try:
        hook = orjson.loads(raw)
        if hook.get("object_kind") != "pipeline":
            raise ValueError(f"object_kind {hook.get('object_kind')!r} is not 'pipeline'")
        project = hook.get("project") or {}
        pipeline = pipeline_event(hook["object_attributes"], project)
        return ([pipeline] if pipeline else []) + deploy_events(hook, project)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PoisonRecordError(f"GitLab Pipeline Hook not understood: {exc!r}",
                                payload=raw) from exc


class GitLabConfig(ConnectorConfig):
    """``[[connectors]] kind = "gitlab"``."""

    kind: Literal["gitlab"] = "gitlab"
    url: str = Field(min_length=1)
    """GitLab base URL (``https://gitlab.example.com``)."""
    project: str = Field(min_length=1)
    """Project id or ``group/name`` path."""
    token: SecretRef | None = None
    """Where a token with ``read_api`` is: ``"env:NAME"`` or ``"file:PATH"``."""
    initial_lookback_seconds: float = Field(default=86_400.0, gt=0)
    max_pages: int = Field(default=20, ge=1)
    max_response_bytes: int = Field(default=32 * 1024 * 1024, gt=0)


class GitLabConnector:
    """Polls pipelines updated since the last poll."""

    kind: ClassVar[str] = "gitlab"

    def __init__(self, config: GitLabConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.name = config.name
        self._client = client
        self._clock = clock
        self._limits = Limits(max_bytes=config.max_response_bytes, timeout=config.timeout_seconds)

    async def poll(self, cursor: str | None) -> Batch:
        """Pipelines with ``updated_after`` the cursor, oldest first, all pages."""
        now = self._clock()
        since = float(cursor) if cursor else now - self.config.initial_lookback_seconds
        params = {"updated_after": datetime.fromtimestamp(since, UTC).isoformat(),
                  "order_by": "updated_at", "sort": "asc", "per_page": 100}
        project = {"path_with_namespace": self.config.project}
        events: list[NewEvent] = []
        letters: list[NewDeadLetter] = []
        for item in await self._pages(params):
            try:
                event = pipeline_event(item, project)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                letters.append(dead_letter(self.name, orjson.dumps(item), exc))
                continue
            if event is not None:
                events.append(event)
        return Batch(events=events, dead_letters=letters, cursor=f"{now:.0f}")

    async def _pages(self, params: dict[str, Any]) -> list[Any]:
        url = f"{self.config.url.rstrip('/')}/api/v4/projects/" \
              f"{quote(self.config.project, safe='')}/pipelines"
        headers = {}
        if self.config.token is not None:
            headers["PRIVATE-TOKEN"] = await asyncio.to_thread(self.config.token.resolve)
        items: list[Any] = []
        seen: set[str] = {"1"}
        page = "1"
        for _ in range(self.config.max_pages):
            body = await fetch_json(self._client, url, params={**params, "page": page},
                                    headers=headers, limits=self._limits)
            if not isinstance(body.data, list):
                raise PoisonRecordError(f"{url}: response is not a list",
                                        payload=orjson.dumps(body.data)[:65_536])
            items.extend(body.data)
            following = body.headers.get("x-next-page", "").strip()
            if not following:
                break
            check_advances(seen, following)
            page = following
        return items

    def parse(self, raw: bytes) -> NewEvent:
        """Replay one pipeline object (REST shape) or the first event of a hook body."""
        try:
            obj = orjson.loads(raw)
            if isinstance(obj, dict) and obj.get("object_kind") == "pipeline":
                events = parse_hook(raw)
                event = events[0] if events else None
            else:
                event = pipeline_event(obj, {"path_with_namespace": self.config.project})
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PoisonRecordError(f"not a GitLab pipeline: {exc!r}", payload=raw) from exc
        if event is None:
            raise PoisonRecordError("pipeline in a state that is not reported", payload=raw)
        return event
