"""GitHub Actions pull connector: workflow runs and their jobs over the REST API.

``GET /repos/{owner}/{repo}/actions/runs?created=>=<since>&per_page=100`` (paged by
the ``Link: <...>; rel="next"`` header), then ``.../runs/{id}/jobs`` for each run.
A run's finish time is its last job's completion (see :func:`last_completion`).
Runs can stay in progress for a while, so every poll re-reads runs created within
``in_progress_lookback_seconds`` before the cursor; dedup keys make the re-read free.
The token comes from a secret reference (``env:NAME`` / ``file:PATH``), resolved per poll.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, Literal

import httpx
import orjson
from pydantic import Field

from connectors.base import Batch, ConnectorConfig
from connectors.ci.common import ci_time
from connectors.ci.github_events import job_event, run_event
from connectors.dlq import dead_letter
from connectors.errors import PoisonRecordError
from connectors.http import Limits, SourceNotFoundError, check_advances, fetch_json
from connectors.secrets import SecretRef
from storage.models import NewDeadLetter, NewEvent

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubActionsConfig(ConnectorConfig):
    """``[[connectors]] kind = "github_actions"``."""

    kind: Literal["github_actions"] = "github_actions"
    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    """``owner/name``."""
    api_url: str = "https://api.github.com"
    token: SecretRef | None = None
    """Where the token is: ``"env:GITHUB_TOKEN"`` or ``"file:/run/secrets/gh"``."""
    initial_lookback_seconds: float = Field(default=86_400.0, gt=0)
    in_progress_lookback_seconds: float = Field(default=6 * 3600.0, ge=0)
    max_pages: int = Field(default=20, ge=1)
    fetch_jobs: bool = True
    max_response_bytes: int = Field(default=32 * 1024 * 1024, gt=0)


MAX_OPEN = 200
"""Runs still in progress remembered in the cursor (re-read one by one later)."""


def _load_cursor(cursor: str | None) -> tuple[float | None, list[int]]:
    """``(last poll time, ids of runs in progress then)``; a bare number is an old cursor."""
    if not cursor:
        return None, []
    try:
        state = orjson.loads(cursor)
    except orjson.JSONDecodeError:
        return None, []
    if isinstance(state, int | float):
        return float(state), []
    if isinstance(state, dict) and isinstance(state.get("t"), int | float):
        ids = [i for i in state.get("open") or [] if isinstance(i, int)]
        return float(state["t"]), ids
    return None, []


def last_completion(jobs: list[Any]) -> datetime | None:
    """When a run finished: its last job's ``completed_at`` (``None`` while any is open).

    A REST run has no completion time of its own, and its ``updated_at`` moves whenever
    the run is touched later (a log deleted, a re-run requested), so it is not used.
    """
    raw = [job.get("completed_at") for job in jobs if isinstance(job, dict)]
    ends = [end for end in raw if isinstance(end, str) and end]
    if not ends or len(ends) != len(raw):
        return None
    try:
        return max(filter(None, map(ci_time, ends)))
    except ValueError:
        return None    # a job with a broken time is dead-lettered by job_event anyway


def next_link(headers: httpx.Headers) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, if any."""
    match = _NEXT.search(headers.get("link", ""))
    return match.group(1) if match else None


class GitHubActionsConnector:
    """Polls workflow runs (and jobs) of one repository."""

    kind: ClassVar[str] = "github_actions"

    def __init__(self, config: GitHubActionsConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.name = config.name
        self._client = client
        self._clock = clock
        self._limits = Limits(max_bytes=config.max_response_bytes, timeout=config.timeout_seconds)

    async def poll(self, cursor: str | None) -> Batch:
        """Runs created since the cursor (minus the in-progress lookback), plus runs that
        were still in progress last time and have left that window."""
        now = self._clock()
        last, still_open = _load_cursor(cursor)
        since = last - self.config.in_progress_lookback_seconds if last is not None else \
            now - self.config.initial_lookback_seconds
        created = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = await self._headers()
        runs = await self._pages(f"{self._repo_url()}/actions/runs", headers,
                                 {"created": f">={created}", "per_page": 100}, "workflow_runs")
        listed = {run.get("id") for run in runs if isinstance(run, dict)}
        runs += await self._revisit([i for i in still_open if i not in listed], headers)
        events: list[NewEvent] = []
        letters: list[NewDeadLetter] = []
        for run in runs:
            jobs: list[Any] = []
            if self.config.fetch_jobs and isinstance(run, dict) and "id" in run:
                jobs_url = f"{self._repo_url()}/actions/runs/{run['id']}/jobs"
                jobs = await self._pages(jobs_url, headers, {"per_page": 100}, "jobs")
            finished = last_completion(jobs)
            self._parse_into(partial(run_event, finished_at=finished), run, events, letters)
            for job in jobs:
                self._parse_into(job_event, job, events, letters)
        open_now = sorted(run["id"] for run in runs if isinstance(run, dict)
                          and isinstance(run.get("id"), int) and run.get("status") != "completed")
        next_cursor = orjson.dumps({"t": round(now), "open": open_now[-MAX_OPEN:]}).decode()
        return Batch(events=events, dead_letters=letters, cursor=next_cursor,
                     received=len(events) + len(letters))

    async def _revisit(self, run_ids: list[int], headers: dict[str, str]) -> list[Any]:
        """Fetch runs one by one (a run deleted meanwhile is simply forgotten)."""
        runs = []
        for run_id in run_ids[-MAX_OPEN:]:
            try:
                body = await fetch_json(self._client, f"{self._repo_url()}/actions/runs/{run_id}",
                                        headers=headers, limits=self._limits)
            except SourceNotFoundError:
                continue
            runs.append(body.data)
        return runs

    def _parse_into(self, make: Callable[[Any, str], NewEvent | None], raw: Any,
                    events: list[NewEvent], letters: list[NewDeadLetter]) -> None:
        try:
            event = make(raw, self.config.repository)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            letters.append(dead_letter(self.name, orjson.dumps(raw), exc))
            return
        if event is not None:
            events.append(event)

    def _repo_url(self) -> str:
        return f"{self.config.api_url.rstrip('/')}/repos/{self.config.repository}"

    async def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.config.token is not None:
            # Resolved on every poll: a rotated token file needs no restart.
            token = await asyncio.to_thread(self.config.token.resolve)
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _pages(self, url: str, headers: dict[str, str], params: dict[str, Any],
                     key: str) -> list[Any]:
        items: list[Any] = []
        seen: set[str] = set()
        next_url: str | None = url
        query: dict[str, Any] | None = params
        for _ in range(self.config.max_pages):
            if next_url is None:
                break
            body = await fetch_json(self._client, next_url, params=query,
                                    headers=headers, limits=self._limits)
            if not isinstance(body.data, dict) or not isinstance(body.data.get(key), list):
                raise PoisonRecordError(f"{url}: response has no {key!r} list",
                                        payload=orjson.dumps(body.data)[:65_536])
            items.extend(body.data[key])
            next_url, query = next_link(body.headers), None
            check_advances(seen, next_url)
        return items

    def parse(self, raw: bytes) -> NewEvent:
        """Replay one run or job object."""
        try:
            obj = orjson.loads(raw)
            event = job_event(obj, self.config.repository) if "run_id" in obj else \
                run_event(obj, self.config.repository)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PoisonRecordError(f"not a workflow run or job: {exc!r}", payload=raw) from exc
        if event is None:
            raise PoisonRecordError("run or job in a state that is not reported", payload=raw)
        return event
