"""From per-sample z-scores to anomaly episodes, with hysteresis.

An episode is a run of anomalous samples of one series: one event with its start,
peak and end, never one event per sample. It ends only after ``recovery``
consecutive *normal* samples (hysteresis): runs separated by fewer are one episode,
and an episode with fewer normal samples after it by the end of the range is still
open. A sample without a verdict (missing, or no baseline) is not normal: a series
that stops reporting mid-episode keeps it open rather than closing it by silence.
The run boundaries are found for all series at once from the diff of the flag
matrix; only the (few) episodes are visited in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from connectors.metrics.zscore import ZScores


class MetricType(StrEnum):
    """What a query measures; decides the default threshold and direction."""

    LATENCY = "latency"
    ERROR_RATE = "error_rate"
    SATURATION = "saturation"
    THROUGHPUT = "throughput"
    CUSTOM = "custom"


class Direction(StrEnum):
    """Which deviations matter: a latency rise does, a latency drop does not."""

    UP = "up"
    DOWN = "down"
    BOTH = "both"


DEFAULTS: dict[MetricType, tuple[float, Direction]] = {
    MetricType.LATENCY: (3.0, Direction.UP),
    MetricType.ERROR_RATE: (3.0, Direction.UP),
    MetricType.SATURATION: (3.5, Direction.UP),
    # Traffic that collapses is as suspicious as traffic that surges.
    MetricType.THROUGHPUT: (3.5, Direction.BOTH),
    MetricType.CUSTOM: (3.0, Direction.BOTH),
}


@dataclass(frozen=True, slots=True)
class Episode:
    """One anomalous run of series ``series``; indices are columns of the grid."""

    series: int
    start: int
    peak: int
    end: int
    """The last anomalous sample."""
    recovered: int | None
    """The first normal sample after ``end`` (when the metric was back), if any."""
    confirmed: int | None
    """The ``recovery``-th normal sample after ``end``: when the close became known."""
    samples: int

    @property
    def open(self) -> bool:
        """Not yet followed by enough normal samples to call it over."""
        return self.confirmed is None


def crosses(z: NDArray[np.float64], threshold: float, direction: Direction
            ) -> NDArray[np.bool_]:
    """Where ``z`` crosses ``threshold`` in ``direction`` (NaN never does)."""
    with np.errstate(invalid="ignore"):
        if direction is Direction.UP:
            return z > threshold
        if direction is Direction.DOWN:
            return z < -threshold
        return np.abs(z) > threshold


def flag(scores: ZScores, threshold: float, direction: Direction) -> NDArray[np.bool_]:
    """Samples whose z crosses ``threshold`` in ``direction`` (NaN never flags)."""
    return crosses(scores.z, threshold, direction)


def find_episodes(flags: NDArray[np.bool_], z: NDArray[np.float64], *, recovery: int = 1,
                  min_samples: int = 1) -> list[Episode]:
    """Runs of flagged samples per series, ended by ``recovery`` normal samples.

    A normal sample is one with a verdict (finite ``z``) that is not flagged.
    Episodes with fewer than ``min_samples`` flagged samples are dropped (one noisy
    sample is not an incident). Everything up to the surviving episodes is vectorised.
    """
    rows, cols = flags.shape
    if rows == 0 or cols == 0 or not flags.any():
        return []
    normal = np.isfinite(z) & ~flags
    seen = np.zeros((rows, cols + 1), dtype=np.int64)   # normal samples before column i
    np.cumsum(normal, axis=1, out=seen[:, 1:])
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = flags
    edges = np.diff(padded, axis=1)
    run_rows, starts = np.nonzero(edges == 1)   # row-major: pairs line up with ends
    _, stops = np.nonzero(edges == -1)
    # A new episode begins at a new series or after ``recovery`` normal samples.
    gaps = seen[run_rows[1:], starts[1:]] - seen[run_rows[:-1], stops[:-1]]
    new = np.ones(len(starts), dtype=bool)
    new[1:] = (run_rows[1:] != run_rows[:-1]) | (gaps >= recovery)
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(starts)) - 1
    counts = np.add.reduceat(stops - starts, first)
    keep = counts >= min_samples
    return [_episode(int(run_rows[a]), int(starts[a]), int(stops[b]) - 1, int(n), z, normal,
                     recovery)
            for a, b, n in zip(first[keep], last[keep], counts[keep], strict=True)]


def _episode(row: int, start: int, end: int, samples: int, z: NDArray[np.float64],
             normal: NDArray[np.bool_], recovery: int) -> Episode:
    segment = np.abs(z[row, start:end + 1])
    peak = start + int(np.nanargmax(segment)) if np.isfinite(segment).any() else start
    after = end + 1 + np.flatnonzero(normal[row, end + 1:])[:recovery]
    return Episode(series=row, start=start, peak=peak, end=end,
                   recovered=int(after[0]) if len(after) else None,
                   confirmed=int(after[-1]) if len(after) == recovery else None,
                   samples=samples)
