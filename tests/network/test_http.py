"""The shared HTTP guards: status mapping, redirects, size, content type, pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from connectors.errors import (
    PermanentSourceError,
    RateLimitedError,
    SourceTimeoutError,
    TransientSourceError,
)
from connectors.http import (
    Limits,
    NotJsonError,
    PaginationStuckError,
    RedirectLoopError,
    ResponseTooLargeError,
    check_advances,
    fetch_json,
    rate_limit_reset_seconds,
    retry_after_seconds,
)

Handler = Callable[[httpx.Request], httpx.Response]


async def _get(handler: Handler, url: str = "http://src.test/api", **kw: object) -> object:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return (await fetch_json(client, url, **kw)).data  # type: ignore[arg-type]


async def test_json_ok() -> None:
    assert await _get(lambda r: httpx.Response(200, json={"a": 1})) == {"a": 1}


@pytest.mark.parametrize(("status", "error"), [
    (429, RateLimitedError), (503, RateLimitedError), (500, TransientSourceError),
    (502, TransientSourceError), (404, PermanentSourceError), (401, PermanentSourceError),
])
async def test_status_mapping(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        await _get(lambda r: httpx.Response(status, json={}))


async def test_rate_limit_carries_retry_after() -> None:
    with pytest.raises(RateLimitedError) as info:
        await _get(lambda r: httpx.Response(429, headers={"Retry-After": "7"}))
    assert info.value.retry_after == 7.0


def test_retry_after_http_date() -> None:
    from datetime import UTC, datetime
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None


def test_rate_limit_reset_is_a_delta_or_a_unix_time() -> None:
    assert rate_limit_reset_seconds("7") == 7.0                          # Datadog: seconds
    assert rate_limit_reset_seconds("1700000030", now=1700000000.0) == 30.0   # GitHub: epoch
    assert rate_limit_reset_seconds("1700000000", now=1700000090.0) == 0.0
    assert rate_limit_reset_seconds(None) is None and rate_limit_reset_seconds("x") is None


async def test_retry_after_wins_over_rate_limit_reset() -> None:
    with pytest.raises(RateLimitedError) as info:
        await _get(lambda r: httpx.Response(429, headers={"Retry-After": "3",
                                                          "X-RateLimit-Reset": "60"}))
    assert info.value.retry_after == 3.0


async def test_timeout_and_connection_errors() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SourceTimeoutError):
        await _get(slow)
    with pytest.raises(TransientSourceError) as info:
        await _get(refused)
    assert not isinstance(info.value, SourceTimeoutError)


async def test_redirect_followed_then_loop_refused() -> None:
    def once(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        return httpx.Response(200, json={"moved": True})

    assert await _get(once, "http://src.test/old") == {"moved": True}

    def loop(request: httpx.Request) -> httpx.Response:
        target = "/b" if request.url.path == "/a" else "/a"
        return httpx.Response(302, headers={"Location": target})

    with pytest.raises(RedirectLoopError):
        await _get(loop, "http://src.test/a")

    def endless(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("n", "0"))
        return httpx.Response(302, headers={"Location": f"/r?n={n + 1}"})

    with pytest.raises(RedirectLoopError):
        await _get(endless, "http://src.test/r")


async def test_redirect_to_other_host_drops_the_token() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if request.url.host == "src.test":
            return httpx.Response(302, headers={"Location": "http://elsewhere.test/x"})
        return httpx.Response(200, json=[])

    await _get(handler, headers={"Authorization": "Bearer secret"})
    assert seen == ["Bearer secret", None]


async def test_non_json_refused() -> None:
    with pytest.raises(NotJsonError):
        await _get(lambda r: httpx.Response(200, text="<html>proxy error</html>",
                                            headers={"Content-Type": "text/html"}))
    with pytest.raises(NotJsonError):
        await _get(lambda r: httpx.Response(200, content=b"{truncated",
                                            headers={"Content-Type": "application/json"}))


async def test_oversize_refused_by_header_and_by_stream() -> None:
    big = b'{"x": "' + b"a" * 5000 + b'"}'
    with pytest.raises(ResponseTooLargeError):
        await _get(lambda r: httpx.Response(200, content=big,
                                            headers={"Content-Type": "application/json"}),
                   limits=Limits(max_bytes=1000))
    chunks_read = []

    def stream(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(1000):   # 1000 x 1 KiB with no Content-Length
                chunks_read.append(1)
                yield b"a" * 1024
        return httpx.Response(200, content=body(), headers={"Content-Type": "application/json"})

    with pytest.raises(ResponseTooLargeError):
        await _get(stream, limits=Limits(max_bytes=10_000))
    assert len(chunks_read) < 20   # stopped reading, did not buffer the whole body


def test_pagination_must_advance() -> None:
    seen: set[str] = set()
    check_advances(seen, "2")
    check_advances(seen, "3")
    check_advances(seen, None)
    with pytest.raises(PaginationStuckError):
        check_advances(seen, "2")

