"""The Prometheus pull connector: configured PromQL queries -> anomaly episodes.

Each poll asks ``/api/v1/query_range`` for the range since the last poll, extended
back by the baseline window (and back to the start of any episode still open, so
its start -- part of its dedup key -- is seen again). The grid is aligned to
multiples of the step, so the same sample has the same timestamp on every poll.
The cursor is JSON: ``{"end": <unix s>, "open": {<episode key>: <start>}}``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import httpx
import orjson
from pydantic import Field

from connectors.base import Batch, ConnectorConfig
from connectors.errors import PoisonRecordError
from connectors.http import Limits, decode_json, fetch_bytes, fetch_json
from connectors.metrics.detect import MetricQuery, detect, graph_link, to_event
from connectors.metrics.series import SeriesMatrix, parse_prometheus
from storage.gcpause import gc_paused
from storage.models import NewDeadLetter, NewEvent

MAX_POINTS = 11_000
"""Prometheus refuses ranges with more points per series than this."""


class PrometheusConfig(ConnectorConfig):
    """``[[connectors]] kind = "prometheus"``."""

    kind: Literal["prometheus"] = "prometheus"
    url: str = Field(min_length=1)
    """Base URL of the Prometheus server (``http://prometheus:9090``)."""
    queries: list[MetricQuery] = Field(min_length=1)
    step_seconds: float = Field(default=15.0, gt=0)
    """Resolution of ``query_range``."""
    initial_lookback_seconds: float = Field(default=3600.0, gt=0)
    """How far back the first poll looks."""
    max_lookback_seconds: float = Field(default=86_400.0, gt=0)
    """Never look further back than this, even for a long open episode."""
    max_response_bytes: int = Field(default=64 * 1024 * 1024, gt=0)


class PrometheusConnector:
    """Polls every configured query and reports anomaly episodes."""

    kind: ClassVar[str] = "prometheus"

    def __init__(self, config: PrometheusConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.name = config.name
        self._client = client
        self._clock = clock
        self._limits = Limits(max_bytes=config.max_response_bytes,
                              timeout=config.timeout_seconds)

    async def poll(self, cursor: str | None) -> Batch:
        """Query every configured PromQL expression since ``cursor``."""
        prev_end, prev_open = _load_cursor(cursor)
        step = self.config.step_seconds
        end = math.floor(self._clock() / step) * step
        events: list[NewEvent] = []
        letters: list[NewDeadLetter] = []
        still_open: dict[str, float] = {}
        for query in self.config.queries:
            first = prev_end if prev_end is not None else end - self.config.initial_lookback_seconds
            start = self._range_start(query, first, prev_open, end)
            matrix = await self.query_range(query.query, start=start, end=end)
            letters.extend(self._rejects(query, matrix))
            for finding in detect(matrix, query):
                key = finding.key(self.name)
                if finding.episode.open:
                    still_open[key] = finding.start_ts
                    if key in prev_open:
                        continue    # already reported as open
                elif prev_end is not None and key not in prev_open and \
                        finding.closed_by(prev_end):
                    continue        # known closed at the last poll: reported then
                link = graph_link(self.config.url, query.query, end=end,
                                  range_seconds=end - start)
                events.append(to_event(finding, connector=self.name, link=link))
        next_cursor = orjson.dumps({"end": end, "open": still_open}).decode()
        return Batch(events=events, dead_letters=letters, cursor=next_cursor)

    def _range_start(self, query: MetricQuery, first: float, prev_open: dict[str, float],
                     end: float) -> float:
        step = self.config.step_seconds
        prefix = f"{self.name}:{query.name}:"
        earliest = min([first, *(s for k, s in prev_open.items() if k.startswith(prefix))])
        earliest = max(earliest, end - self.config.max_lookback_seconds)
        start = math.floor(earliest / step) * step - query.window * step
        return max(start, end - (MAX_POINTS - 1) * step)

    async def query_range(self, promql: str, *, start: float, end: float) -> SeriesMatrix:
        """``/api/v1/query_range`` on the aligned grid."""
        step = self.config.step_seconds
        body, response = await fetch_bytes(
            self._client, "GET", f"{self.config.url.rstrip('/')}/api/v1/query_range",
            params={"query": promql, "start": _num(start), "end": _num(end), "step": _num(step)},
            limits=self._limits)
        # The decoded document is dropped inside the block: refcounting frees it, and
        # the GC never scans its millions of small lists.
        with gc_paused():
            return parse_prometheus(decode_json(body, response), start=start, end=end,
                                    step=step)

    async def query(self, promql: str, *, at: float | None = None) -> SeriesMatrix:
        """``/api/v1/query``: the instant vector (one column)."""
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = _num(at)
        response = await fetch_json(self._client, f"{self.config.url.rstrip('/')}/api/v1/query",
                                    params=params, limits=self._limits)
        return parse_prometheus(response.data, start=0.0, end=0.0, step=1.0)

    def _rejects(self, query: MetricQuery, matrix: SeriesMatrix) -> list[NewDeadLetter]:
        return [
            NewDeadLetter(connector=self.name, payload=orjson.dumps(raw),
                          error_class="BadSeriesResponseError",
                          message=f"query {query.name!r}: series without the documented "
                                  "metric/values shape", source_ref=query.name)
            for raw in matrix.rejected
        ]

    def parse(self, raw: bytes) -> NewEvent:
        """Replay: only a serialised event can be re-read; a malformed series stays dead."""
        try:
            return NewEvent.model_validate_json(raw)
        except ValueError as exc:
            raise PoisonRecordError(f"not an event: {exc}", payload=raw) from exc


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _load_cursor(cursor: str | None) -> tuple[float | None, dict[str, float]]:
    if not cursor:
        return None, {}
    try:
        state = orjson.loads(cursor)
        return float(state["end"]), {str(k): float(v) for k, v in state.get("open", {}).items()}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        # An unreadable cursor (older format, hand edit) restarts from the lookback;
        # dedup keys make the re-read harmless.
        return None, {}
