"""Shared HTTP helpers for pull connectors.

Every network connector takes an ``httpx.AsyncClient`` (tests inject one built on
``httpx.MockTransport``) and goes through :func:`fetch_json`, which turns the ways a
remote API can misbehave into the connector error hierarchy:

* 429 and 503 -> :class:`RateLimitedError` (with ``Retry-After`` in seconds, or else
  ``X-RateLimit-Reset``: seconds to wait as Datadog sends it, or a unix time as
  GitHub sends it);
* other 5xx, connection errors -> :class:`TransientSourceError`; timeouts ->
  :class:`SourceTimeoutError`;
* other 4xx -> :class:`PermanentSourceError`;
* redirect loops / too many redirects, bodies over a size limit (the stream is
  abandoned as soon as the limit is passed, never buffered whole), and non-JSON
  bodies -> the subclasses below.

:func:`check_advances` guards pagination: a next-page token seen before means the
source would make us loop forever.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from connectors import tracing
from connectors.errors import (
    PermanentSourceError,
    RateLimitedError,
    SourceTimeoutError,
    TransientSourceError,
)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5


class RedirectLoopError(PermanentSourceError):
    """The source redirected back to a URL already visited, or too many times."""


class ResponseTooLargeError(PermanentSourceError):
    """The response body is larger than the configured limit."""


class NotJsonError(TransientSourceError):
    """The body is not JSON (a proxy's HTML error page, a truncated body ...).

    Transient: it is usually an unhealthy hop in front of the API, and the breaker
    should count it.
    """


class SourceNotFoundError(PermanentSourceError):
    """HTTP 404/410: the resource is not (or no longer) there."""


class PaginationStuckError(PermanentSourceError):
    """The next-page token did not advance; following it would loop forever."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request guards."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class JsonResponse:
    """A decoded JSON body with the headers and final URL it came with."""

    data: Any
    headers: httpx.Headers
    url: httpx.URL
    size: int


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta-seconds or an HTTP date) into seconds."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


UNIX_TIME_FLOOR = 1_000_000_000
"""An ``X-RateLimit-Reset`` this large is a unix time (2001 on), not a wait in seconds."""


def rate_limit_reset_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` (a delta, or a unix time), ``None`` if absent."""
    if not value or not value.strip().isdigit():
        return None
    number = float(value.strip())
    if number >= UNIX_TIME_FLOOR:
        return max(0.0, number - (time.time() if now is None else now))
    return number


def raise_for_status(response: httpx.Response) -> None:
    """Map an HTTP error status to the connector error hierarchy."""
    status = response.status_code
    if status < 400:
        return
    where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
    if status in (429, 503):
        retry = retry_after_seconds(response.headers.get("retry-after"))
        if retry is None:
            retry = rate_limit_reset_seconds(response.headers.get("x-ratelimit-reset"))
        raise RateLimitedError(f"{where}: HTTP {status}", retry_after=retry)
    if status >= 500:
        raise TransientSourceError(f"{where}: HTTP {status}")
    if status in (404, 410):
        raise SourceNotFoundError(f"{where}: HTTP {status}")
    raise PermanentSourceError(f"{where}: HTTP {status}")


async def fetch_bytes(
    client: httpx.AsyncClient, method: str, url: str | httpx.URL, *,
    params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
    json: Any = None, limits: Limits = Limits(),
) -> tuple[bytes, httpx.Response]:
    """Send a request, following redirects by hand; return the body and final response."""
    request = client.build_request(method, url, params=params, headers=headers, json=json,
                                   timeout=limits.timeout)
    seen = {str(request.url)}
    for _ in range(limits.max_redirects + 1):
        response = await _send(client, request)
        try:
            if not response.is_redirect:
                raise_for_status(response)
                return await _read_limited(response, limits.max_bytes), response
            request = _next_request(client, response, seen, limits)
        finally:
            await response.aclose()
    raise RedirectLoopError(f"more than {limits.max_redirects} redirects from {url}")


async def fetch_json(
    client: httpx.AsyncClient, url: str | httpx.URL, *,
    params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
    method: str = "GET", json: Any = None, limits: Limits = Limits(),
) -> JsonResponse:
    """GET (or POST) a JSON document with every guard of this module."""
    body, response = await fetch_bytes(client, method, url, params=params, headers=headers,
                                       json=json, limits=limits)
    return JsonResponse(data=decode_json(body, response), headers=response.headers,
                        url=response.url, size=len(body))


def decode_json(body: bytes, response: httpx.Response) -> Any:
    """The JSON of a response body; :class:`NotJsonError` if it is anything else."""
    ctype = response.headers.get("content-type", "")
    if "json" not in ctype.lower():
        raise NotJsonError(f"{response.url}: expected JSON, got content-type {ctype!r}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotJsonError(f"{response.url}: body is not valid JSON ({exc})") from exc


def check_advances(seen: set[str], token: str | None) -> None:
    """Record a next-page token; raise :class:`PaginationStuckError` if it repeats."""
    if token is None:
        return
    if token in seen:
        raise PaginationStuckError(f"pagination did not advance (token {token!r} repeated)")
    seen.add(token)


async def _send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    try:
        with tracing.http_client_span(request) as span:
            response = await client.send(request, stream=True, follow_redirects=False)
            tracing.http_client_status(span, response.status_code)
            return response
    except httpx.TimeoutException as exc:
        raise SourceTimeoutError(f"{request.method} {request.url}: timed out ({exc!r})") from exc
    except httpx.TransportError as exc:
        raise TransientSourceError(f"{request.method} {request.url}: {exc!r}") from exc


def _next_request(client: httpx.AsyncClient, response: httpx.Response, seen: set[str],
                  limits: Limits) -> httpx.Request:
    location = response.headers.get("location")
    if not location:
        raise PermanentSourceError(f"{response.url}: redirect without a Location header")
    target = response.url.join(location)
    if str(target) in seen:
        raise RedirectLoopError(f"redirect loop: {response.url} -> {target}")
    seen.add(str(target))
    # 303 turns any method into GET; we only follow GETs and POSTs of small JSON bodies.
    method = "GET" if response.status_code == 303 else response.request.method
    content = None if method == "GET" else response.request.content
    headers = dict(response.request.headers)
    if target.host != response.url.host:
        # Never hand a token to another host because it told us to go there.
        headers.pop("authorization", None)
        headers.pop("private-token", None)
    return client.build_request(method, target, headers=headers, content=content,
                                timeout=limits.timeout)


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLargeError(f"{response.url}: {declared} bytes > limit {max_bytes}")
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise ResponseTooLargeError(f"{response.url}: body over limit {max_bytes} bytes")
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise SourceTimeoutError(f"{response.url}: timed out reading the body") from exc
    except httpx.TransportError as exc:
        raise TransientSourceError(f"{response.url}: body read failed ({exc!r})") from exc
    return b"".join(chunks)

