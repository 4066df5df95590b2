"""Loopback servers replaying Datadog's spans API and New Relic's NerdGraph (see the
SOURCE notes in ``datadog/`` and ``newrelic/``)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DATADOG = HERE / "datadog"
NEWRELIC = HERE / "newrelic"


def load(path: Path) -> Any:
    return json.loads(path.read_bytes())


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Replay:
    """Answers each request with ``answer(path, headers, body)``; records requests."""

    answer: Callable[[str, dict[str, str], Any], Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@contextmanager
def serve(replay: Replay) -> Iterator[Replay]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            body = json.loads(raw) if raw else None
            headers = dict(self.headers)
            replay.requests.append({"path": self.path, "headers": headers, "body": body})
            status, extra, data = replay.answer(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    replay.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()


def datadog_pages(pages: list[bytes]) -> Callable[[str, dict[str, str], Any], Reply]:
    """Datadog's search: the first page without a cursor, then the page whose
    predecessor's ``meta.page.after`` the request sends back; after the last page, the
    empty page that ends the recorded pagination (``search_page_3.json``)."""
    by_cursor: dict[str | None, bytes] = {None: pages[0]}
    for before, after in zip(pages, [*pages[1:], (DATADOG / "search_page_3.json").read_bytes()],
                             strict=True):
        cursor = json.loads(before).get("meta", {}).get("page", {}).get("after")
        if cursor is not None:
            by_cursor.setdefault(cursor, after)

    def answer(path: str, headers: dict[str, str], body: Any) -> Reply:
        cursor = body["data"]["attributes"]["page"].get("cursor")
        if path != "/api/v2/spans/events/search" or cursor not in by_cursor:
            return 404, {}, b'{"errors":["not found"]}'
        return 200, {"Content-Type": "application/vnd.api+json"}, by_cursor[cursor]
    return answer


WINDOW = re.compile(r"SINCE (\d+) UNTIL (\d+) LIMIT (\d+)")


def newrelic_rows(rows: list[dict[str, Any]]) -> Callable[[str, dict[str, str], Any], Reply]:
    """NerdGraph running the NRQL window over ``rows``: the rows with SINCE ≤ timestamp
    < UNTIL, newest first, cut at LIMIT -- what NRDB does with a ``SELECT *``."""

    def answer(path: str, headers: dict[str, str], body: Any) -> Reply:
        found = WINDOW.search(body["variables"]["nrql"])
        assert found, body
        since, until, limit = (int(g) for g in found.groups())
        picked = sorted((r for r in rows if since <= r["timestamp"] < until),
                        key=lambda r: r["timestamp"], reverse=True)[:limit]
        reply = {"data": {"actor": {"account": {"nrql": {"results": picked}}}}}
        return 200, {}, json.dumps(reply).encode()
    return answer
