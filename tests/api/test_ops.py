"""Operations routes and the edge: health, readiness, metrics, headers, 413, 429, 405."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine

from storage import Store
from tests.api.conftest import Api, start_api, stop_api
from tests.api.test_investigations import _problem
from workbench.api.middleware import SECURITY_HEADERS
from workbench.settings.api import ApiSettings


def _has_security_headers(response: httpx.Response) -> bool:
    return all(response.headers.get(k.decode()) == v.decode() for k, v in SECURITY_HEADERS)


def test_healthz_readyz_without_auth(api: Api) -> None:
    client = api.client(None)
    assert client.get("/healthz").json() == {"status": "ok", "store": None}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["store"] in ("sqlite", "postgresql")
    assert "server" not in client.get("/healthz").headers  # no version leak


def test_readyz_reports_an_unreachable_store() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = Store(create_engine(f"postgresql+psycopg://x:y@127.0.0.1:{port}/none",
                               connect_args={"connect_timeout": 2}))
    settings = ApiSettings(port=0)
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer

    server = ApiServer(create_app(store=dead, settings=settings), settings).start()
    try:
        response = httpx.get(server.url + "/readyz")
        _problem(response, 503, "unavailable")
        assert "psycopg" not in response.text and "connection" not in response.text.lower()
    finally:
        server.stop()


def test_metrics_need_a_token_by_default_and_count_route_templates(api: Api) -> None:
    _problem(api.client(None).get("/metrics"), 401, "unauthorized")
    viewer = api.client("viewer")
    for _ in range(3):
        viewer.get("/api/events/999")
    text = viewer.get("/metrics").text
    assert ('workbench_api_requests_total{method="GET",route="/api/events/{event_id}",'
            'status="404"} 3.0') in text
    assert ('workbench_api_request_seconds_count{method="GET",'
            'route="/api/events/{event_id}"} 3.0') in text
    api.client("responder").post("/api/events", json={
        "source": "manual", "kind": "note", "title": "x", "occurred_at": "2026-01-01T00:00:00Z"})
    assert 'workbench_api_ingested_events_total{outcome="stored"} 1.0' in viewer.get(
        "/metrics").text


@pytest.fixture
def open_metrics(sqlite_store: Store) -> Iterator[Api]:
    running = start_api(sqlite_store, ApiSettings(port=0, metrics_auth="none"))
    yield running
    stop_api(running)


def test_metrics_auth_can_be_off(open_metrics: Api) -> None:
    assert open_metrics.client(None).get("/metrics").status_code == 200


def test_security_headers_on_every_kind_of_response(api: Api) -> None:
    client = api.client("viewer")
    responses = [client.get("/healthz"), client.get("/api/events"), client.get("/nope"),
                 client.get("/api/events/999"), client.delete("/healthz"),
                 client.get("/api/events/x"), api.client(None).get("/api/events"),
                 client.post("/api/events", json={})]
    assert [r.status_code for r in responses] == [200, 200, 404, 404, 405, 422, 401, 403]
    assert all(_has_security_headers(r) for r in responses)
    assert responses[4].headers["allow"] == "GET"


@pytest.fixture
def small(sqlite_store: Store) -> Iterator[Api]:
    running = start_api(sqlite_store, ApiSettings(port=0, max_body_bytes=2048,
                                                  rate_limit_per_second=0.5,
                                                  rate_limit_burst=3))
    yield running
    stop_api(running)


def _raw(api: Api, request: bytes, chunks: list[bytes]) -> bytes:
    """Send ``request`` then ``chunks``; the whole response (head and body) as bytes.

    The server may answer and close before every chunk is sent (that is the point of
    refusing early): a send that fails then is expected, and the reply is still read.
    """
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(request)
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_response(sock)


def _read_response(sock: socket.socket) -> bytes:
    """Read until the head and ``Content-Length`` bytes of body have arrived (or EOF).

    One ``recv`` returns whatever TCP delivered so far, which under load can be
    the status line alone.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        if not (part := _recv(sock)):
            return data
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    while length is None or len(body) < int(length.group(1)):
        if not (part := _recv(sock)):
            break
        body += part
    return head + b"\r\n\r\n" + body


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:  # closed after the reply, with our unread body pending
        return b""


def test_oversized_body_refused_before_it_is_read(small: Api) -> None:
    auth = f"Authorization: Bearer {small.tokens['responder']}\r\n".encode()
    head = b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth
    # Declared too large: answered with no body sent at all.
    reply = _raw(small, head + b"Content-Length: 10000000\r\n\r\n", [])
    assert reply.startswith(b"HTTP/1.1 413") and b"payload-too-large" in reply
    # Streamed (chunked) without a length: refused once past the limit, body unfinished.
    chunk = b"400\r\n" + b" " * 1024 + b"\r\n"
    reply = _raw(small, head + b"Transfer-Encoding: chunked\r\n\r\n", [chunk] * 3)
    assert reply.startswith(b"HTTP/1.1 413") and b"payload-too-large" in reply


def test_rate_limit_per_token_with_retry_after(small: Api) -> None:
    viewer = small.client("viewer")
    codes = [viewer.get("/api/events").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = viewer.get("/api/events")
    _problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert small.client("admin").get("/api/events").status_code == 200  # other token unaffected


def test_failed_authentication_is_throttled_per_client(api: Api) -> None:
    client = httpx.Client(base_url=api.url, headers={"Authorization": "Bearer iwb_wrong"})
    codes = [client.get("/api/events").status_code for _ in range(25)]
    client.close()
    assert codes[0] == 401 and codes[-1] == 429
