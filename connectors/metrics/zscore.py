"""Rolling z-score over a matrix of series, vectorised with cumulative sums.

Row ``i`` of ``values`` is one series on a common time grid (``NaN`` = no sample).
The baseline of sample ``t`` is the ``window`` samples *before* it (the sample
itself is excluded, so a spike does not dilute its own baseline). Two cumulative
sums (values and squares) give every window's mean and variance in O(S*P); this is
the anchor implementation of performance.md §6 plus the three things a real feed
needs: missing samples, a minimum baseline size, and a floor on the standard
deviation (a perfectly flat baseline would otherwise make any wiggle infinitely
anomalous).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ZScores:
    """z, baseline mean and baseline standard deviation per sample (``NaN`` = no baseline)."""

    z: Matrix
    mean: Matrix
    std: Matrix


def rolling_zscore(values: Matrix, *, window: int, min_baseline: int,
                   rel_std_floor: float = 0.01, abs_std_floor: float = 1e-9,
                   exclude: NDArray[np.bool_] | None = None) -> ZScores:
    """Rolling z-score of every sample against the ``window`` samples before it.

    ``min_baseline`` is the fewest valid baseline samples for a z to be computed.
    The standard deviation is floored at ``max(abs_std_floor, rel_std_floor*|mean|)``:
    changes smaller than ``rel_std_floor`` of the level are never anomalous.
    ``exclude`` marks samples that are scored but kept out of every baseline (samples
    already known to be anomalous, so a long spike does not become its own baseline).
    """
    if window < 1 or min_baseline < 1 or min_baseline > window:
        raise ValueError("need 1 <= min_baseline <= window")
    values = np.asarray(values, dtype=np.float64)
    valid = np.isfinite(values)
    complete = bool(valid.all())
    # Centre each series first: cumulative sums of large, nearly constant values lose
    # the variance to cancellation otherwise.
    centre = _row_centre(values, valid, complete)
    centred = values - centre
    if not complete:
        centred[~valid] = 0.0
    usable = valid if exclude is None else valid & ~exclude
    in_baseline = centred if exclude is None else np.where(usable, centred, 0.0)
    sums = _window_sums(in_baseline, window)
    np.multiply(in_baseline, in_baseline, out=in_baseline)    # no longer needed unsquared
    sums2 = _window_sums(in_baseline, window)
    simple = complete and exclude is None
    counts = _window_counts(usable, window, simple)
    # In place from here on: at 10k x 360 every temporary costs a few milliseconds.
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.divide(sums, counts, out=sums)
        var = np.divide(sums2, counts, out=sums2)
        var -= mean * mean
        np.maximum(var, 0.0, out=var)
        std = np.sqrt(var, out=var)
        mean += centre                        # back to the series' own level
        floor = np.abs(mean)
        floor *= rel_std_floor
        np.maximum(floor, abs_std_floor, out=floor)
        np.maximum(std, floor, out=std)
        z = np.subtract(values, mean, out=floor)
        z /= std
    if simple:
        # The count depends on the column only: blank the first columns.
        blank = min(min_baseline, values.shape[1])
        for arr in (z, mean, std):
            arr[:, :blank] = np.nan
    else:
        no_baseline = (counts < min_baseline) | ~valid
        for arr in (z, mean, std):
            np.copyto(arr, np.nan, where=no_baseline)
    return ZScores(z=z, mean=mean, std=std)


def _row_centre(values: Matrix, valid: NDArray[np.bool_], complete: bool) -> Matrix:
    """Each row's first valid sample (0 for an empty row), as a column."""
    rows = values.shape[0]
    if values.shape[1] == 0:
        return np.zeros((rows, 1))
    if complete:
        return values[:, :1].copy()
    first = valid.argmax(axis=1)
    centre: Matrix = values[np.arange(rows), first]
    centre[~valid.any(axis=1)] = 0.0
    return centre.reshape(rows, 1)


def _window_sums(values: Matrix, window: int) -> Matrix:
    """Sum of the ``window`` samples before each index (fewer at the start)."""
    rows, cols = values.shape
    csum = np.empty((rows, cols + 1))
    csum[:, 0] = 0.0
    np.cumsum(values, axis=1, out=csum[:, 1:])
    out = np.empty((rows, cols))
    head = min(window, cols)
    out[:, :head] = csum[:, :head]
    if window >= cols:
        return out
    np.subtract(csum[:, window:cols], csum[:, : cols - window], out=out[:, head:])
    return out


def _window_counts(valid: NDArray[np.bool_], window: int, complete: bool
                   ) -> NDArray[np.float64]:
    cols = valid.shape[1]
    if complete:
        # Every sample present: the count depends on the column only (broadcast row).
        return np.minimum(np.arange(cols, dtype=np.float64), float(window))[None, :]
    return _window_sums(valid.astype(np.float64), window)


def carry_baseline(scores: ZScores, values: Matrix, limit: int) -> ZScores:
    """Where a sample has no baseline, reuse the last one from at most ``limit`` samples back.

    Used when anomalous samples are excluded from baselines: deep into a long spike
    the window holds too few normal samples, and the spike should still be judged
    against the level before it. The limit lets a lasting level shift become the
    new normal instead of an endless episode.
    """
    have = np.isfinite(scores.mean)
    cols = np.arange(values.shape[1])
    last = np.maximum.accumulate(np.where(have, cols, -1), axis=1)
    take = ~have & np.isfinite(values) & (last >= 0) & (cols - last <= limit)
    if not take.any():
        return scores
    rows, where = np.nonzero(take)
    source = last[rows, where]
    mean, std, z = scores.mean.copy(), scores.std.copy(), scores.z.copy()
    mean[rows, where] = scores.mean[rows, source]
    std[rows, where] = scores.std[rows, source]
    z[rows, where] = (values[rows, where] - mean[rows, where]) / std[rows, where]
    return ZScores(z=z, mean=mean, std=std)
