"""From per-sample z-scores to anomaly episodes.

An episode is a run of consecutive anomalous samples of one series (runs separated
by at most ``max_gap`` normal samples are one episode): one event with its start,
peak and end, never one event per sample. The run boundaries are found for all
series at once from the diff of the flag matrix; only the (few) episodes are
visited in Python.
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
    open: bool
    samples: int


def flag(scores: ZScores, threshold: float, direction: Direction) -> NDArray[np.bool_]:
    """Samples whose z crosses ``threshold`` in ``direction`` (NaN never flags)."""
    z = scores.z
    with np.errstate(invalid="ignore"):
        if direction is Direction.UP:
            return z > threshold
        if direction is Direction.DOWN:
            return z < -threshold
        return np.abs(z) > threshold


def find_episodes(flags: NDArray[np.bool_], z: NDArray[np.float64], *, max_gap: int = 1,
                  min_samples: int = 1) -> list[Episode]:
    """Runs of flagged samples per series, merged across gaps of ``max_gap`` samples.

    Episodes with fewer than ``min_samples`` flagged samples are dropped (one noisy
    sample is not an incident). Everything up to the surviving episodes is vectorised.
    """
    rows, cols = flags.shape
    if rows == 0 or cols == 0 or not flags.any():
        return []
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = flags
    edges = np.diff(padded, axis=1)
    run_rows, starts = np.nonzero(edges == 1)   # row-major: pairs line up with ends
    _, stops = np.nonzero(edges == -1)
    # A new episode begins at a new series or after a gap longer than max_gap.
    new = np.ones(len(starts), dtype=bool)
    new[1:] = (run_rows[1:] != run_rows[:-1]) | (starts[1:] - stops[:-1] > max_gap)
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(starts)) - 1
    counts = np.add.reduceat(stops - starts, first)
    keep = counts >= min_samples
    return [_episode(int(run_rows[a]), int(starts[a]), int(stops[b]) - 1, int(n), z, cols)
            for a, b, n in zip(first[keep], last[keep], counts[keep], strict=True)]


def _episode(row: int, start: int, end: int, samples: int, z: NDArray[np.float64],
             cols: int) -> Episode:
    segment = np.abs(z[row, start:end + 1])
    peak = start + int(np.nanargmax(segment)) if np.isfinite(segment).any() else start
    return Episode(series=row, start=start, peak=peak, end=end, open=end == cols - 1,
                   samples=samples)
