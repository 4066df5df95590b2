"""Jaeger, GitHub Actions, GitLab and Alertmanager pulls through httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.alertmanager import AlertmanagerConfig, AlertmanagerConnector
from connectors.ci.github import GitHubActionsConfig, GitHubActionsConnector
from connectors.ci.gitlab import GitLabConfig, GitLabConnector
from connectors.errors import PermanentSourceError, PoisonRecordError, RateLimitedError
from connectors.http import PaginationStuckError
from connectors.traces import JaegerConfig, JaegerConnector
from storage.models import EventKind
from tests.network import payloads

Handler = Callable[[httpx.Request], httpx.Response]
NOW = 1_700_000_300.0


def _client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


# -- Jaeger ---------------------------------------------------------------------------
def _jaeger(traces: list[dict[str, Any]], seen: list[httpx.URL]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path == "/api/services":
            return httpx.Response(200, json={"data": ["cart"], "total": 1})
        return httpx.Response(200, json={"data": traces, "total": len(traces)})
    return handler


async def test_jaeger_poll_finds_error_and_slow_trace() -> None:
    seen: list[httpx.URL] = []
    config = JaegerConfig(name="jaeger", url="http://jaeger.test:16686",
                          rules={"thresholds_ms": {"cart": 500}})
    connector = JaegerConnector(config, _client(_jaeger([payloads.jaeger_trace()], seen)),
                                clock=lambda: NOW)
    batch = await connector.poll(None)
    kinds = sorted(e.kind for e in batch.events)
    assert kinds == [EventKind.SLOW_TRACE, EventKind.SPAN_ERROR]
    error = next(e for e in batch.events if e.kind is EventKind.SPAN_ERROR)
    assert error.service == "redis-client" and error.attributes["exceptions"][0]["type"] == \
        "TimeoutError"
    slow = next(e for e in batch.events if e.kind is EventKind.SLOW_TRACE)
    assert slow.url == "http://jaeger.test:16686/trace/5b8efff798038103d269b633813fc60c"
    assert [s["operation"] for s in slow.attributes["critical_path"]] == ["GET /cart",
                                                                           "redis GET"]
    traces_call = seen[-1]
    assert traces_call.params["service"] == "cart"
    assert int(traces_call.params["end"]) == int(NOW * 1_000_000)   # microseconds
    assert batch.cursor == str(int(NOW * 1_000_000))


async def test_jaeger_bad_trace_is_dead_lettered() -> None:
    bad = payloads.jaeger_trace(trace_id="not-hex")
    connector = JaegerConnector(JaegerConfig(name="j", url="http://j.test", services=["cart"]),
                                _client(_jaeger([bad, payloads.jaeger_trace()], [])),
                                clock=lambda: NOW)
    batch = await connector.poll(None)
    assert len(batch.dead_letters) == 1 and batch.dead_letters[0].source_ref == "cart"
    assert any(e.kind is EventKind.SPAN_ERROR for e in batch.events)


async def test_jaeger_short_trace_ids_are_padded() -> None:
    trace = payloads.jaeger_trace(trace_id="d269b633813fc60c")
    connector = JaegerConnector(JaegerConfig(name="j", url="http://j.test", services=["cart"]),
                                _client(_jaeger([trace], [])), clock=lambda: NOW)
    [event] = (await connector.poll(None)).events
    assert event.trace_id == "0000000000000000d269b633813fc60c"


async def test_jaeger_full_pages_are_followed_back_in_time() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        end = int(request.url.params["end"])
        # Two traces per page, newest first, one second apart, going back from ``end``.
        traces = []
        for k in range(2):
            trace = payloads.jaeger_trace(trace_id=f"{end - k:032x}")
            for span in trace["spans"]:
                span["startTime"] = end - 1_000_000 * (k + 1)
            traces.append(trace)
        start = int(request.url.params["start"])
        traces = [t for t in traces if t["spans"][0]["startTime"] >= start]
        return httpx.Response(200, json={"data": traces})

    config = JaegerConfig(name="j", url="http://j.test", services=["cart"], limit=2,
                          initial_lookback_seconds=5)
    batch = await JaegerConnector(config, _client(handler), clock=lambda: NOW).poll(None)
    ends = [int(u.params["end"]) for u in seen]
    assert ends == sorted(ends, reverse=True) and len(ends) == 3
    assert batch.received == 4   # 2 + 2, then a page with nothing left in the window


# -- GitHub Actions -------------------------------------------------------------------
def _github_api(pages: int = 2, stuck: bool = False) -> tuple[Handler, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path.endswith("/jobs"):
            job = payloads.workflow_job(environment=None)["workflow_job"]
            return httpx.Response(200, json={"total_count": 1, "jobs": [job]})
        page = int(request.url.params.get("page", "1"))
        run = payloads.workflow_run(run_id=100 + page)["workflow_run"]
        headers = {}
        if page < pages:
            following = page if stuck else page + 1
            headers["Link"] = (f'<http://gh.test/repos/octo-org/Hello-World/actions/runs?'
                               f'page={following}>; rel="next", <http://gh.test/x?page=9>; '
                               'rel="last"')
        return httpx.Response(200, json={"total_count": pages, "workflow_runs": [run]},
                              headers=headers)

    return handler, requests


async def test_github_pull_pages_runs_and_jobs_with_token(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("ghp_example\n")
    handler, requests = _github_api(pages=2)
    config = GitHubActionsConfig(name="gh", repository="octo-org/Hello-World",
                                 api_url="http://gh.test", token=f"file:{tmp_path / 'token'}")
    batch = await GitHubActionsConnector(config, _client(handler), clock=lambda: NOW).poll(None)
    assert sorted(e.kind for e in batch.events) == [EventKind.JOB, EventKind.JOB,
                                                    EventKind.PIPELINE, EventKind.PIPELINE]
    assert all(r.headers["authorization"] == "Bearer ghp_example" for r in requests)
    assert requests[0].url.params["created"].startswith(">=2023-11-13T")
    assert orjson.loads(batch.cursor or "") == {"t": int(NOW), "open": []}


async def test_github_long_running_run_is_followed_until_it_finishes() -> None:
    state = {"status": "in_progress"}
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        run = payloads.workflow_run(run_id=7)["workflow_run"]
        run.update(status=state["status"],
                   conclusion="success" if state["status"] == "completed" else None)
        if request.url.path.endswith("/runs/7"):
            return httpx.Response(200, json=run)
        if request.url.path.endswith("/runs/8"):
            return httpx.Response(404, json={"message": "Not Found"})
        # The run was created long ago: it is outside the listing window by now.
        listed = [run] if len(requests) == 1 else []
        return httpx.Response(200, json={"total_count": len(listed), "workflow_runs": listed})

    config = GitHubActionsConfig(name="gh", repository="octo-org/Hello-World",
                                 api_url="http://gh.test", fetch_jobs=False)
    connector = GitHubActionsConnector(config, _client(handler), clock=lambda: NOW)
    first = await connector.poll(None)
    assert [e.attributes["phase"] for e in first.events] == ["started"]
    assert orjson.loads(first.cursor or "")["open"] == [7]
    state["status"] = "completed"
    cursor = orjson.dumps({"t": NOW, "open": [7, 8]}).decode()   # 8 was deleted since
    second = await connector.poll(cursor)
    assert [e.attributes["phase"] for e in second.events] == ["finished"]
    assert orjson.loads(second.cursor or "")["open"] == []
    assert "/repos/octo-org/Hello-World/actions/runs/7" in requests


async def test_github_pull_stuck_pagination_and_rate_limit() -> None:
    handler, _ = _github_api(pages=5, stuck=True)
    config = GitHubActionsConfig(name="gh", repository="octo-org/Hello-World",
                                 api_url="http://gh.test", fetch_jobs=False)
    with pytest.raises(PaginationStuckError):
        await GitHubActionsConnector(config, _client(handler)).poll(None)

    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403 if "x" in request.url.path else 429,
                              headers={"Retry-After": "60"})
    with pytest.raises(RateLimitedError):
        await GitHubActionsConnector(config, _client(limited)).poll(None)


async def test_github_pull_missing_token_secret_is_permanent() -> None:
    config = GitHubActionsConfig(name="gh", repository="o/r", api_url="http://gh.test",
                                 token="env:WB_SURELY_UNSET_TOKEN")
    with pytest.raises(PermanentSourceError):
        await GitHubActionsConnector(config, _client(_github_api()[0])).poll(None)


# -- GitLab ---------------------------------------------------------------------------
async def test_gitlab_pull_pages_by_next_page_header() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        items = payloads.gitlab_pipelines()
        if request.url.path.endswith("/pipelines/47"):   # the ended one, read whole
            return httpx.Response(200, json={**items[0], "started_at": "2016-08-11T11:28:40Z",
                                             "finished_at": "2016-08-11T11:32:35Z",
                                             "duration": 235})
        page = request.url.params["page"]
        return httpx.Response(200, json=[items[int(page) - 1]],
                              headers={"X-Next-Page": "2" if page == "1" else ""})

    config = GitLabConfig(name="gl", url="http://gl.test", project="foo/bar")
    batch = await GitLabConnector(config, _client(handler), clock=lambda: NOW).poll(None)
    assert [e.attributes["phase"] for e in batch.events] == ["finished", "started"]
    assert requests[0].url.raw_path.startswith(b"/api/v4/projects/foo%2Fbar/pipelines?")
    assert batch.events[0].attributes["result"] == "success"
    assert batch.events[0].attributes["duration_s"] == 235
    assert batch.events[0].occurred_at.isoformat() == "2016-08-11T11:32:35+00:00"


async def test_gitlab_pull_stuck_page_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=payloads.gitlab_pipelines()[:1],
                              headers={"X-Next-Page": "2"})

    config = GitLabConfig(name="gl", url="http://gl.test", project="group/seven")
    with pytest.raises(PaginationStuckError):
        await GitLabConnector(config, _client(handler)).poll(None)


# -- Alertmanager pull ----------------------------------------------------------------
def _am_alert(starts: str) -> dict[str, Any]:
    alert = payloads.alertmanager_webhook(starts_at=starts)["alerts"][0]
    del alert["status"]
    return {**alert, "updatedAt": starts, "receivers": [{"name": "wb"}],
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}


async def test_alertmanager_pull_active_then_resolved() -> None:
    current: list[dict[str, Any]] = [_am_alert("2024-05-01T10:00:00Z")]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2/alerts"
        return httpx.Response(200, json=current)

    connector = AlertmanagerConnector(AlertmanagerConfig(name="am", url="http://am.test"),
                                      _client(handler))
    first = await connector.poll(None)
    [firing] = first.events
    assert firing.dedup_key == "alertmanager:c3a8e7ba5d2f6b1e:firing:2024-05-01T10:00:00.000+00:00"
    current.clear()
    [resolved] = (await connector.poll(first.cursor)).events
    assert resolved.dedup_key == \
        "alertmanager:c3a8e7ba5d2f6b1e:resolved:2024-05-01T10:00:00.000+00:00"


async def test_alertmanager_pull_non_list_is_poison() -> None:
    connector = AlertmanagerConnector(
        AlertmanagerConfig(name="am", url="http://am.test"),
        _client(lambda r: httpx.Response(200, json={"not": "a list"})))
    with pytest.raises(PoisonRecordError, match="did not return a list"):
        await connector.poll(None)
