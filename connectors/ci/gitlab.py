"""GitLab pipelines: the pull connector (``GET /projects/:id/pipelines``) and its config.

Parsing (shared with the Pipeline, Job and Deployment Hooks) is in
:mod:`connectors.ci.gitlab_hooks`. A project configured by numeric id (``"21"``) is
resolved to its ``group/name`` path once (``GET /projects/:id``, cached for the
connector's life), so services and dedup keys are the ones the webhooks produce and a
pipeline seen both ways is stored once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

import httpx
import orjson
from pydantic import Field

from connectors.base import Batch, ConnectorConfig
from connectors.ci.gitlab_hooks import HOOKS, parse_hook, pipeline_event
from connectors.dlq import dead_letter
from connectors.errors import PoisonRecordError
from connectors.http import Limits, check_advances, fetch_json
from connectors.secrets import SecretRef
from storage.models import NewDeadLetter, NewEvent

__all__ = ["HOOKS", "GitLabConfig", "GitLabConnector", "parse_hook"]
ENDED = frozenset({"success", "failed", "canceled", "skipped"})
"""Pipeline statuses whose list item is re-read for its own start and finish times."""


def path_from_web_url(url: Any) -> str | None:
    """``group/name`` from a pipeline's ``web_url`` (``.../group/name/-/pipelines/7``).

    Only for replaying a dead letter before the id was resolved (replay cannot ask
    the API); a GitLab under a relative URL root would add its prefix, so polls use
    the project lookup instead.
    """
    if not isinstance(url, str) or "/-/pipelines/" not in url:
        return None
    return urlsplit(url).path.split("/-/pipelines/")[0].strip("/") or None


class GitLabConfig(ConnectorConfig):
    """``[[connectors]] kind = "gitlab"``."""

    kind: Literal["gitlab"] = "gitlab"
    url: str = Field(min_length=1)
    """GitLab base URL (``https://gitlab.example.com``)."""
    project: str = Field(min_length=1)
    """Project id or ``group/name`` path (an id is resolved to the path once)."""
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
        self._path: str | None = None if config.project.isdigit() else config.project

    async def poll(self, cursor: str | None) -> Batch:
        """Pipelines with ``updated_after`` the cursor, oldest first, all pages."""
        now = self._clock()
        since = float(cursor) if cursor else now - self.config.initial_lookback_seconds
        params = {"updated_after": datetime.fromtimestamp(since, UTC).isoformat(),
                  "order_by": "updated_at", "sort": "asc", "per_page": 100}
        headers = await self._headers()
        project = {"path_with_namespace": await self.project_path(headers)}
        events: list[NewEvent] = []
        letters: list[NewDeadLetter] = []
        for item in await self._pages(params, headers):
            item = await self._complete(item, headers)
            try:
                event = pipeline_event(item, project)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                letters.append(dead_letter(self.name, orjson.dumps(item), exc))
                continue
            if event is not None:
                events.append(event)
        return Batch(events=events, dead_letters=letters, cursor=f"{now:.0f}")

    async def project_path(self, headers: dict[str, str] | None = None) -> str:
        """The project's ``group/name``: the configured path, or the id's, asked once."""
        if self._path is None:
            body = await fetch_json(self._client, self._project_url(),
                                    headers=headers if headers is not None else
                                    await self._headers(), limits=self._limits)
            path = body.data.get("path_with_namespace") if isinstance(body.data, dict) else None
            if not isinstance(path, str) or not path:
                raise PoisonRecordError(f"{self._project_url()}: no path_with_namespace",
                                        payload=orjson.dumps(body.data)[:65_536])
            self._path = path
        return self._path

    async def _complete(self, item: Any, headers: dict[str, str]) -> Any:
        """A list item of a pipeline that ended, re-read whole for its own times.

        The list gives only ``created_at``/``updated_at``; ``updated_at`` is not when the
        pipeline finished, so ``GET /pipelines/:id`` supplies ``started_at``,
        ``finished_at`` and ``duration`` (one call per ended pipeline, once: the next
        poll starts after it).
        """
        if not isinstance(item, dict) or "finished_at" in item or \
                item.get("status") not in ENDED or not isinstance(item.get("id"), int):
            return item
        body = await fetch_json(self._client, f"{self._project_url()}/pipelines/{item['id']}",
                                headers=headers, limits=self._limits)
        return body.data if isinstance(body.data, dict) else item

    def _project_url(self) -> str:
        return f"{self.config.url.rstrip('/')}/api/v4/projects/" \
               f"{quote(self.config.project, safe='')}"

    async def _headers(self) -> dict[str, str]:
        if self.config.token is None:
            return {}
        # Resolved on every poll: a rotated token file needs no restart.
        return {"PRIVATE-TOKEN": await asyncio.to_thread(self.config.token.resolve)}

    async def _pages(self, params: dict[str, Any], headers: dict[str, str]) -> list[Any]:
        url = f"{self._project_url()}/pipelines"
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
            if isinstance(obj, dict) and "object_kind" in obj:
                events = parse_hook(raw)
                event = events[0] if events else None
            else:
                path = self._path or path_from_web_url(obj.get("web_url")) or \
                    self.config.project
                event = pipeline_event(obj, {"path_with_namespace": path})
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PoisonRecordError(f"not a GitLab pipeline: {exc!r}", payload=raw) from exc
        if event is None:
            raise PoisonRecordError("pipeline in a state that is not reported", payload=raw)
        return event
