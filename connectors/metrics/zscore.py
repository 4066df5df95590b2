"""Rolling z-score over a matrix of series, vectorised with cumulative sums.

Row ``i`` of ``values`` is one series on a common time grid (``NaN`` = no sample).
The baseline of sample ``t`` is the ``window`` samples *before* it (the sample
itself is excluded, so a spike does not dilute its own baseline). Two cumulative
sums (values and squares) give every window's mean and variance in O(S*P) -- the
anchor of the performance study -- plus the three things a real feed needs:
missing samples, a minimum baseline size, and a floor on the standard deviation
(a perfectly flat baseline would otherwise make any wiggle infinitely anomalous).

Numerical stability: a difference of cumulative sums keeps the rounding error of
everything summed before the window (``eps * 1e12`` from one past ``1e6``), and
``E[x^2] - mean^2`` cancels when a window is far from the row's centre. Both errors
are bounded from the cumulative sum itself; where the bound is not negligible
against the variance (or the floor that replaces it), that window's mean and
variance are recomputed exactly by a two-pass over its samples. Normal feeds have
no such window, so the fast path keeps its speed.
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
    sums, _ = _window_sums(in_baseline, window)
    np.multiply(in_baseline, in_baseline, out=in_baseline)    # no longer needed unsquared
    sums2, prefix2 = _window_sums(in_baseline, window)
    simple = complete and exclude is None
    counts = _window_counts(usable, window, simple)
    # In place from here on: at 10k x 360 every temporary costs a few milliseconds.
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.divide(sums, counts, out=sums)
        var = np.divide(sums2, counts, out=sums2)
        var -= mean * mean
        np.maximum(var, 0.0, out=var)
        mean += centre                        # back to the series' own level
        floor = np.abs(mean)
        floor *= rel_std_floor
        np.maximum(floor, abs_std_floor, out=floor)
        scored = _scored(counts, min_baseline, simple)
        _exact_where_cancelled(var, mean, prefix2, floor, counts, values, usable, window,
                               scored=scored, least_floor=abs_std_floor)
        std = np.sqrt(var, out=var)
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


def _window_sums(values: Matrix, window: int) -> tuple[Matrix, Matrix]:
    """Sum of the ``window`` samples before each index (fewer at the start), and the
    cumulative sum of everything before each index (the bound on its rounding error)."""
    rows, cols = values.shape
    csum = np.empty((rows, cols + 1))
    csum[:, 0] = 0.0
    np.cumsum(values, axis=1, out=csum[:, 1:])
    out = np.empty((rows, cols))
    head = min(window, cols)
    out[:, :head] = csum[:, :head]
    if window >= cols:
        return out, csum[:, :cols]
    np.subtract(csum[:, window:cols], csum[:, : cols - window], out=out[:, head:])
    return out, csum[:, :cols]


CANCELLATION = 1e-8
"""Relative variance error tolerated before a window's variance is recomputed exactly."""


def _exact_where_cancelled(var: Matrix, mean: Matrix, prefix2: Matrix, floor: Matrix,
                           counts: Matrix, values: Matrix, usable: NDArray[np.bool_],
                           window: int, *, scored: NDArray[np.bool_] | int,
                           least_floor: float) -> None:
    """Recompute ``var`` and ``mean`` by a two-pass where the fast sums lost precision.

    ``prefix2`` is the cumulative sum of squares (centred) before each sample: the
    window's variance carries a rounding error of at most about ``t * eps *
    prefix2 / count``. Where that is not negligible against the variance (or the
    floor that replaces it), the window is gathered and its variance taken around
    its own mean. The cost is per cell found.
    """
    eps = np.finfo(np.float64).eps
    width = var.shape[1]
    if width == 0:
        return
    # Cheap row test first (one pass): the largest possible error of a row against
    # its smallest variance. Only rows that fail it get the per-cell test.
    worst = prefix2[:, -1] * (width * eps)
    # Cells without a full enough baseline are blanked later: they do not count.
    with np.errstate(invalid="ignore"):
        if isinstance(scored, int):
            least = np.fmin.reduce(var[:, scored:], axis=1, initial=np.inf)
        else:
            least = np.fmin.reduce(np.where(scored, var, np.inf), axis=1)
        np.maximum(least, least_floor * least_floor, out=least)
    candidates = np.flatnonzero(~(worst <= least * CANCELLATION))
    if candidates.size == 0:
        return
    steps = np.arange(1, width + 1, dtype=np.float64) * eps
    sub_counts = counts if counts.shape[0] == 1 else counts[candidates]
    with np.errstate(invalid="ignore"):
        scale = np.maximum(var[candidates], floor[candidates] ** 2) * sub_counts
        found = prefix2[candidates] * steps > scale * CANCELLATION
    sub_rows, cols = np.nonzero(found)
    if sub_rows.size == 0:
        return
    rows = candidates[sub_rows]
    offsets = np.arange(-window, 0)
    idx = cols[:, None] + offsets[None, :]
    inside = idx >= 0
    idx = np.where(inside, idx, 0)
    take = usable[rows[:, None], idx] & inside
    samples = np.where(take, values[rows[:, None], idx], 0.0)
    count = take.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = samples.sum(axis=1) / count
        spread = np.where(take, samples - centre[:, None], 0.0)
        var[rows, cols] = (spread * spread).sum(axis=1) / count
    mean[rows, cols] = centre


def _scored(counts: Matrix, min_baseline: int, simple: bool) -> NDArray[np.bool_] | int:
    """Which cells get a z: the first column that does (``simple``), else a mask."""
    if simple:
        return min_baseline
    with np.errstate(invalid="ignore"):
        return counts >= min_baseline


def _window_counts(valid: NDArray[np.bool_], window: int, complete: bool
                   ) -> NDArray[np.float64]:
    cols = valid.shape[1]
    if complete:
        # Every sample present: the count depends on the column only (broadcast row).
        return np.minimum(np.arange(cols, dtype=np.float64), float(window))[None, :]
    return _window_sums(valid.astype(np.float64), window)[0]


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
