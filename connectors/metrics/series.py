"""Time-series responses (Prometheus, Datadog) decoded onto one common grid.

Every parser returns a :class:`SeriesMatrix`: one row per series, one column per
grid timestamp, ``NaN`` where a series has no sample. Prometheus ships values as
strings (``"NaN"`` and ``"+Inf"`` included), which numpy converts in C.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from connectors.errors import PermanentSourceError


class BadSeriesResponseError(PermanentSourceError):
    """The response is JSON but not the time-series shape the API documents."""


@dataclass(frozen=True, slots=True)
class SeriesMatrix:
    """Series labels, the grid (unix seconds) and the values (rows = series)."""

    labels: list[dict[str, str]]
    times: NDArray[np.float64]
    values: NDArray[np.float64]
    rejected: tuple[Any, ...] = ()
    """Raw series objects that did not have the documented shape (for the DLQ)."""


def grid(start: float, end: float, step: float) -> NDArray[np.float64]:
    """The evaluation timestamps Prometheus uses for ``query_range``."""
    count = int(np.floor((end - start) / step + 1e-9)) + 1
    return start + step * np.arange(max(count, 0), dtype=np.float64)


def parse_prometheus(data: Any, *, start: float, end: float, step: float) -> SeriesMatrix:
    """Decode a ``/api/v1/query_range`` (matrix) or ``/api/v1/query`` (vector) body."""
    payload = _prometheus_data(data)
    kind = payload.get("resultType")
    result = payload.get("result")
    if not isinstance(result, list):
        raise BadSeriesResponseError("Prometheus response has no data.result list")
    if kind == "vector":
        return _vector(result)
    if kind != "matrix":
        raise BadSeriesResponseError(f"unsupported Prometheus resultType {kind!r}")
    times = grid(start, end, step)
    values = np.full((len(result), len(times)), np.nan)
    labels: list[dict[str, str]] = []
    rejected: list[Any] = []
    for series in result:
        if not _fill_row(values[len(labels)], series, start, step):
            values[len(labels)] = np.nan
            rejected.append(series)
            continue
        labels.append(series["metric"])
    return SeriesMatrix(labels=labels, times=times, values=values[: len(labels)],
                        rejected=tuple(rejected))


def _prometheus_data(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadSeriesResponseError("Prometheus response is not an object")
    if data.get("status") != "success":
        raise BadSeriesResponseError(
            f"Prometheus error {data.get('errorType')!r}: {data.get('error')!r}")
    payload = data.get("data")
    if not isinstance(payload, dict):
        raise BadSeriesResponseError("Prometheus response has no data object")
    return payload


def _fill_row(row: NDArray[np.float64], series: Any, start: float, step: float) -> bool:
    """Write one series into its row; False if the series is malformed (skipped)."""
    try:
        points = series["values"]
        if not isinstance(series["metric"], dict):
            return False
        cols = len(row)
        if len(points) == cols and float(points[0][0]) == start:
            row[:] = [p[1] for p in points]    # the common case: every step present
            return True
        stamps = np.array([p[0] for p in points], dtype=np.float64)
        idx = np.rint((stamps - start) / step).astype(np.intp)
        keep = (idx >= 0) & (idx < cols)
        row[idx[keep]] = np.array([p[1] for p in points], dtype=np.float64)[keep]
        return True
    except (KeyError, IndexError, TypeError, ValueError):
        return False


def _vector(result: list[Any]) -> SeriesMatrix:
    labels: list[dict[str, str]] = []
    stamps: list[float] = []
    vals: list[float] = []
    rejected: list[Any] = []
    for sample in result:
        try:
            ts, value = sample["value"]
            stamp, number, label = float(ts), float(value), dict(sample["metric"])
        except (KeyError, TypeError, ValueError):
            rejected.append(sample)
            continue
        stamps.append(stamp)
        vals.append(number)
        labels.append(label)
    when = max(stamps) if stamps else 0.0
    values = np.array(vals, dtype=np.float64).reshape(-1, 1)
    return SeriesMatrix(labels=labels, times=np.array([when]), values=values,
                        rejected=tuple(rejected))


def from_points(labels: list[dict[str, str]], points: Sequence[tuple[NDArray[np.float64],
                NDArray[np.float64]]]) -> SeriesMatrix:
    """Put series with their own timestamps onto the union grid."""
    if not points:
        return SeriesMatrix(labels=[], times=np.empty(0), values=np.empty((0, 0)))
    times = np.unique(np.concatenate([ts for ts, _ in points]))
    values = np.full((len(points), len(times)), np.nan)
    for row, (ts, vals) in enumerate(points):
        values[row, np.searchsorted(times, ts)] = vals
    return SeriesMatrix(labels=labels, times=times, values=values)

