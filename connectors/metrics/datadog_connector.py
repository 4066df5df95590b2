"""The Datadog pull connector: configured metric queries -> anomaly episodes.

It is the Prometheus connector with another source: the same cursor, the same range
arithmetic (back to the start of any open episode) and the same detection, inherited
from :class:`~connectors.metrics.prometheus.PrometheusConnector`, so a fix to either
is a fix to both. Only the query differs:

* ``api = "v1"`` (default): ``GET /api/v1/query?from=<s>&to=<s>&query=<q>``;
* ``api = "v2"``: ``POST /api/v2/query/timeseries`` with one metrics query and the
  formula ``a`` (times in ms).

Datadog picks the point interval from the range length, and the range changes from
poll to poll; episode keys must not, so each query is sent with
``.rollup(<rollup>, <step_seconds>)`` (unless it already has a rollup), which fixes
the grid. The newest ``delay_seconds`` are left for the next poll: Datadog's last
bucket is still filling and would look like a drop.

Keys: ``api_key`` and ``app_key`` are secret references (``"env:DD_API_KEY"``,
``"file:/run/secrets/dd_app"``) sent as ``DD-API-KEY``/``DD-APPLICATION-KEY``;
``site`` is the Datadog site (``datadoghq.eu``, ``us5.datadoghq.com`` ...), and
``url`` overrides the API base (a proxy, a test server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx
import numpy as np
from pydantic import Field

from connectors.base import Batch
from connectors.datadog_site import DatadogSite, datadog_headers
from connectors.http import decode_json, fetch_bytes
from connectors.metrics.datadog import parse_datadog_v1, parse_datadog_v2
from connectors.metrics.prometheus import PrometheusConfig, PrometheusConnector
from connectors.metrics.series import SeriesMatrix
from storage.gcpause import gc_paused


class DatadogConfig(DatadogSite, PrometheusConfig):
    """``[[connectors]] kind = "datadog"`` (queries as for Prometheus, in Datadog syntax)."""

    kind: Literal["datadog"] = "datadog"  # type: ignore[assignment]
    api: Literal["v1", "v2"] = "v1"
    step_seconds: float = Field(default=60.0, gt=0)
    rollup: Literal["avg", "sum", "min", "max", "count"] = "avg"
    delay_seconds: float = Field(default=120.0, ge=0)


class DatadogConnector(PrometheusConnector):
    """Polls every configured Datadog metric query and reports anomaly episodes."""

    kind: ClassVar[str] = "datadog"
    config: DatadogConfig

    def __init__(self, config: DatadogConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(config, client, clock=lambda: clock() - config.delay_seconds)
        self.config = config

    async def poll(self, cursor: str | None) -> Batch:
        """As Prometheus' poll; the events link to Datadog's metric explorer."""
        batch = await super().poll(cursor)
        events = [e.model_copy(update={"url": self.link(str(e.attributes.get("promql", "")))})
                  for e in batch.events]
        return replace(batch, events=events)

    def link(self, query: str) -> str:
        """Where a person sees the query in Datadog's web app."""
        return f"https://app.{self.config.site}/metric/explorer?exp_metric=" + \
            quote(query, safe="")

    def rolled(self, query: str) -> str:
        """The query with the fixed grid (see the module docstring)."""
        if ".rollup(" in query:
            return query
        return f"{query}.rollup({self.config.rollup}, {int(self.config.step_seconds)})"

    async def query_range(self, promql: str, *, start: float, end: float) -> SeriesMatrix:
        """The query over ``[start, end]`` (unix seconds) through the configured API."""
        headers = await self._keys()
        base = self.config.url.rstrip("/")
        if self.config.api == "v2":
            body, response = await fetch_bytes(
                self._client, "POST", f"{base}/api/v2/query/timeseries",
                json=self._v2_request(promql, start, end), headers=headers,
                limits=self._limits)
            parse: Callable[[Any], SeriesMatrix] = parse_datadog_v2
        else:
            body, response = await fetch_bytes(
                self._client, "GET", f"{base}/api/v1/query", headers=headers,
                params={"from": int(start), "to": int(end), "query": self.rolled(promql)},
                limits=self._limits)
            parse = parse_datadog_v1
        with gc_paused():
            return parse(decode_json(body, response))

    async def query(self, promql: str, *, at: float | None = None) -> SeriesMatrix:
        """The newest complete point of each series at ``at`` (default: now, less the delay).

        Datadog has no instant endpoint, and Prometheus' ``/api/v1/query`` inherited from
        the parent would send Prometheus parameters to Datadog: read the last two steps
        through :meth:`query_range` and keep each series' newest finite value.
        """
        end = self._clock() if at is None else at
        step = self.config.step_seconds
        return latest(await self.query_range(promql, start=end - 2 * step, end=end), at=end)

    def _v2_request(self, query: str, start: float, end: float) -> dict[str, Any]:
        return {"data": {"type": "timeseries_request", "attributes": {
            "from": int(start * 1000), "to": int(end * 1000),
            "interval": int(self.config.step_seconds * 1000),
            "queries": [{"data_source": "metrics", "name": "a", "query": self.rolled(query)}],
            "formulas": [{"formula": "a"}]}}}

    async def _keys(self) -> dict[str, str]:
        return await datadog_headers(self.config)


def latest(matrix: SeriesMatrix, *, at: float) -> SeriesMatrix:
    """One column at ``at``: each series' newest finite value not after it (NaN if none)."""
    values = np.full((len(matrix.labels), 1), np.nan)
    usable = matrix.times <= at
    for row in range(len(matrix.labels)):
        finite = np.flatnonzero(usable & np.isfinite(matrix.values[row]))
        if finite.size:
            values[row, 0] = matrix.values[row, finite[-1]]
    return SeriesMatrix(labels=matrix.labels, times=np.array([at], dtype=np.float64),
                        values=values, rejected=matrix.rejected)
