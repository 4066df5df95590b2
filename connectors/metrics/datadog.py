"""Datadog timeseries query responses onto a :class:`SeriesMatrix`.

Two documented shapes (no live Datadog is reachable; tests use recorded payloads):

* v1 ``GET /api/v1/query``: ``{"status": "ok", "res_type": "time_series",
  "series": [{"metric", "scope", "tag_set", "expression", "pointlist": [[ms, value],
  ...], ...}], "from_date", "to_date", "query"}``; points may be ``null``.
* v2 ``POST /api/v2/query/timeseries``: ``{"data": {"type": "timeseries_response",
  "attributes": {"series": [{"group_tags", "query_index", "unit"}], "times": [ms],
  "values": [[value, ...] per series]}}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from connectors.metrics.series import BadSeriesResponseError, SeriesMatrix, from_points


def parse_datadog(data: Any) -> SeriesMatrix:
    """Decode either documented Datadog response shape."""
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        return parse_datadog_v2(data)
    return parse_datadog_v1(data)


def parse_datadog_v1(data: Any) -> SeriesMatrix:
    """Decode a v1 ``/api/v1/query`` response (``series[].pointlist``, ms timestamps)."""
    if not isinstance(data, dict) or not isinstance(data.get("series"), list):
        raise BadSeriesResponseError("Datadog v1 response has no series list")
    if data.get("status") not in (None, "ok"):
        raise BadSeriesResponseError(f"Datadog error: {data.get('error')!r}")
    labels: list[dict[str, str]] = []
    points = []
    rejected: list[Any] = []
    for series in data["series"]:
        try:
            pairs = [(float(ts) / 1000.0, np.nan if v is None else float(v))
                     for ts, v in series["pointlist"]]
        except (KeyError, TypeError, ValueError):
            rejected.append(series)
            continue
        arr = np.array(pairs, dtype=np.float64).reshape(-1, 2)
        points.append((arr[:, 0], arr[:, 1]))
        labels.append(_v1_labels(series))
    matrix = from_points(labels, points)
    return SeriesMatrix(labels=matrix.labels, times=matrix.times, values=matrix.values,
                        rejected=tuple(rejected))


def _v1_labels(series: dict[str, Any]) -> dict[str, str]:
    tags = series.get("tag_set") or []
    scope = series.get("scope") or ""
    if not tags and scope and scope != "*":
        tags = scope.split(",")
    labels = tags_to_labels(tags)
    labels["__name__"] = str(series.get("metric") or series.get("expression") or "")
    return labels


def parse_datadog_v2(data: Any) -> SeriesMatrix:
    """Decode a v2 timeseries formula response (shared ``times``, one value row per series)."""
    try:
        attributes = data["data"]["attributes"]
        times = np.array(attributes.get("times") or [], dtype=np.float64) / 1000.0
        series = attributes.get("series") or []
        rows = attributes.get("values") or []
    except (KeyError, TypeError, ValueError) as exc:
        raise BadSeriesResponseError(f"Datadog v2 response malformed: {exc}") from exc
    if len(rows) != len(series):
        raise BadSeriesResponseError(f"Datadog v2: {len(series)} series but {len(rows)} rows")
    values = np.full((len(series), len(times)), np.nan)
    labels: list[dict[str, str]] = []
    for meta, row in zip(series, rows, strict=True):
        if len(row) != len(times):
            raise BadSeriesResponseError("Datadog v2: a values row does not match times")
        values[len(labels)] = [np.nan if v is None else v for v in row]
        label = tags_to_labels(meta.get("group_tags") or [])
        label["query_index"] = str(meta.get("query_index", 0))
        labels.append(label)
    return SeriesMatrix(labels=labels, times=times, values=values)


def tags_to_labels(tags: Sequence[str]) -> dict[str, str]:
    """Datadog ``key:value`` tags as labels; a bare tag maps to an empty value.

    Both sides are stripped: ``"env: prod"`` (a space after the colon, as people write
    tags by hand) is ``env=prod``, not ``env=" prod"``, which would match nothing.
    """
    out: dict[str, str] = {}
    for tag in tags:
        key, _, value = str(tag).partition(":")
        out[key.strip()] = value.strip()
    return out
