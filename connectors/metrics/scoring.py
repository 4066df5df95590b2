"""Scoring a query's series: rolling z-scores, then episodes walked with frozen baselines.

Split from :mod:`connectors.metrics.detect` (which turns the scores into episodes
and events) because the walk is the subtle part: a long anomaly must be judged
against the level before it began, not against its own first samples.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from connectors.metrics.episodes import Direction, crosses, flag
from connectors.metrics.zscore import Matrix, ZScores, carry_baseline, rolling_zscore


class MetricQuery(Protocol):
    """What scoring reads of a configured query (:class:`connectors.metrics.detect.MetricQuery`
    satisfies it; a protocol, so the scoring module does not depend on the one that calls it)."""

    @property
    def window(self) -> int: ...
    @property
    def min_baseline(self) -> int: ...
    @property
    def rel_std_floor(self) -> float: ...
    @property
    def recovery_samples(self) -> int: ...
    def effective(self) -> tuple[float, Direction]: ...

MAX_EPISODES = 64
"""Episodes walked per series and range; more are scored against rolling baselines."""


def score(values: Matrix, query: MetricQuery) -> tuple[ZScores, NDArray[np.bool_]]:
    """z-scores and flags; an episode is judged against the baseline before it began.

    The first pass is one vectorised sweep over every series. Series where an
    anomaly lasts (a flagged sample followed by one anomalous against the same
    baseline) are walked episode by episode, all of them at once: from an episode's
    first sample on, samples are judged against the baseline as it stood then, until
    ``recovery_samples`` of them in a row are normal; those samples are kept out of
    every later baseline. Otherwise the first samples of a long spike would become
    the baseline of the next ones and the episode would end before the spike does.
    """
    threshold, direction = query.effective()
    scorer = partial(rolling_zscore, window=query.window,
                     min_baseline=min(query.min_baseline, query.window),
                     rel_std_floor=query.rel_std_floor)
    scores = scorer(values)
    flags = flag(scores, threshold, direction)
    rows = _lasting(values, scores, flags, threshold, direction)
    if rows.size:
        walk = _Walk(values[rows], scorer, query, threshold, direction)
        sub, sub_flags = walk.run()
        for full, part in ((scores.z, sub.z), (scores.mean, sub.mean), (scores.std, sub.std)):
            full[rows] = part
        flags[rows] = sub_flags
    return scores, flags


class _Walk:
    """The episode-by-episode scoring of some series, one round per episode."""

    def __init__(self, values: Matrix, scorer: Callable[..., ZScores], query: MetricQuery,
                 threshold: float, direction: Direction) -> None:
        self.values, self.scorer, self.query = values, scorer, query
        self.threshold, self.direction = threshold, direction
        shape = values.shape
        self.exclude = np.zeros(shape, dtype=bool)      # anomalous: out of baselines
        self.held = np.zeros(shape, dtype=bool)         # judged against a frozen baseline
        self.mean = np.full(shape, np.nan)
        self.std = np.full(shape, np.nan)
        self.cols = np.arange(shape[1])

    def _scores(self, rows: NDArray[np.intp]) -> ZScores:
        return carry_baseline(self.scorer(self.values[rows], exclude=self.exclude[rows]),
                              self.values[rows], limit=self.query.window)

    def run(self) -> tuple[ZScores, NDArray[np.bool_]]:
        """Walk every series to its end; the final scores and flags."""
        position = np.zeros(self.values.shape[0], dtype=np.intp)
        rows = np.arange(self.values.shape[0])
        for _ in range(MAX_EPISODES):
            if rows.size == 0:
                break
            rows, position = self._round(rows, position)
        final = self._scores(np.arange(self.values.shape[0]))
        flags = flag(final, self.threshold, self.direction)
        held = self.held
        final.mean[held], final.std[held] = self.mean[held], self.std[held]
        final.z[held] = (self.values[held] - self.mean[held]) / self.std[held]
        flags[held] = self.exclude[held]
        return final, flags

    def _round(self, rows: NDArray[np.intp], position: NDArray[np.intp]
               ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """The next episode of each of ``rows``; the rows (and positions) still to walk."""
        scores = self._scores(rows)
        hits = flag(scores, self.threshold, self.direction) & \
            (self.cols[None, :] >= position[rows, None])
        found = hits.any(axis=1)
        rows, local = rows[found], np.flatnonzero(found)
        if rows.size == 0:
            return rows, position
        start = hits[local].argmax(axis=1)
        mean = scores.mean[local, start][:, None]
        std = scores.std[local, start][:, None]
        after = self.cols[None, :] >= start[:, None]
        z = np.where(after, (self.values[rows] - mean) / std, np.nan)
        anomalous = crosses(z, self.threshold, self.direction)
        stop, resume = _closing(z, anomalous, self.query.recovery_samples)
        inside = after & (self.cols[None, :] <= stop[:, None])
        self.exclude[rows] |= anomalous & inside
        self.held[rows] |= inside
        self.mean[rows] = np.where(inside, mean, self.mean[rows])
        self.std[rows] = np.where(inside, std, self.std[rows])
        closed = resume >= 0
        position[rows[closed]] = resume[closed]
        return rows[closed], position


def _closing(z: NDArray[np.float64], anomalous: NDArray[np.bool_], recovery: int
             ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Per row: the last column of the first run of ``recovery`` normal samples (samples
    without a verdict skipped) and the first column of that run; the row's last column
    and -1 where no such run exists (the episode lasts to the end)."""
    rows, cols = z.shape
    index = np.arange(cols)
    normal = np.isfinite(z) & ~anomalous
    counted = np.cumsum(normal, axis=1)
    # Normal samples since the last anomalous one: the count at that sample is the base.
    last_bad = np.maximum.accumulate(np.where(anomalous, index, -1), axis=1)
    base = np.where(last_bad >= 0, np.take_along_axis(counted, np.maximum(last_bad, 0), axis=1),
                    0)
    run: NDArray[np.int64] = counted - base
    reached: NDArray[np.bool_] = np.greater_equal(run, recovery)
    closed = reached.any(axis=1)
    stop: NDArray[np.intp] = np.where(closed, reached.argmax(axis=1), cols - 1)
    # The run's first sample: the first normal one after the last anomalous before ``stop``.
    bad_before = last_bad[np.arange(rows), stop]
    following = np.where(normal & (index[None, :] > bad_before[:, None]), index, cols)
    resume: NDArray[np.intp] = np.where(closed, following.min(axis=1), -1)
    return stop, resume


def _lasting(values: Matrix, scores: ZScores, flags: NDArray[np.bool_], threshold: float,
             direction: Direction) -> NDArray[np.intp]:
    """Series where a flagged sample is followed by one that is anomalous too when judged
    against the *same* baseline: only those can hold a spike long enough to leak into
    its own baseline. Isolated noisy flags (most of them) are not rescored."""
    if not flags[:, :-1].any():
        return np.empty(0, dtype=np.intp)
    with np.errstate(invalid="ignore", divide="ignore"):
        ahead = values[:, 1:] - scores.mean[:, :-1]
        ahead /= scores.std[:, :-1]
    follow = flag(ZScores(z=ahead, mean=ahead, std=ahead), threshold, direction)
    follow &= flags[:, :-1]
    return np.flatnonzero(follow.any(axis=1))
