"""Anomaly detection for one query: series matrix -> episodes -> events.

Dedup keys are ``<connector>:<query>:<series fingerprint>:<start ts>:<state>``. The
start timestamp is a grid point, and the grid is aligned to multiples of the step,
so the same episode gets the same key on every poll. An episode that is still open
at the end of the polled range is reported once as ``open`` (start and peak so far,
no end) so the on-call hears about it now; when it closes it is reported once more
as ``closed`` with start, peak and end. An episode that opens and closes between two
polls is a single ``closed`` event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import numpy as np
import orjson
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from connectors.metrics.episodes import (
    DEFAULTS,
    Direction,
    Episode,
    MetricType,
    crosses,
    find_episodes,
    flag,
)
from connectors.metrics.series import SeriesMatrix
from connectors.metrics.zscore import Matrix, ZScores, carry_baseline, rolling_zscore
from storage.models import EventKind, NewEvent, Severity, Source


class MetricQuery(BaseModel):
    """One configured query and how to judge it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    query: str = Field(min_length=1)
    metric_type: MetricType = MetricType.CUSTOM
    threshold: float | None = Field(default=None, gt=0)
    """|z| that counts as anomalous (default per metric type)."""
    direction: Direction | None = None
    """Which way matters (default per metric type: latency rise, throughput both ...)."""
    window: int = Field(default=30, ge=2, le=10_000)
    """Baseline length in samples (the samples before each one)."""
    min_baseline: int = Field(default=10, ge=2)
    """Fewest baseline samples for a verdict."""
    rel_std_floor: float = Field(default=0.01, ge=0)
    """Changes under this fraction of the level are never anomalous."""
    recovery_samples: int = Field(default=3, ge=1)
    """Consecutive normal samples that end an episode (hysteresis): fewer normal
    samples inside a spike do not split it, and an episode is open until they come."""
    min_samples: int = Field(default=2, ge=1)
    """Anomalous samples an episode needs: one noisy sample is not an incident."""
    service: str | None = None
    """Service to put on events when the series has no ``service``/``job`` label."""

    def effective(self) -> tuple[float, Direction]:
        """The threshold and direction, with per-type defaults filled in."""
        default_threshold, default_direction = DEFAULTS[self.metric_type]
        return self.threshold or default_threshold, self.direction or default_direction


@dataclass(frozen=True, slots=True)
class Finding:
    """One episode with everything its event needs."""

    query: MetricQuery
    labels: dict[str, str]
    episode: Episode
    times: np.ndarray[Any, np.dtype[np.float64]]
    values: np.ndarray[Any, np.dtype[np.float64]]
    scores: ZScores

    @property
    def start_ts(self) -> float:
        """Unix time of the episode's first sample."""
        return float(self.times[self.episode.start])

    def closed_by(self, when: float) -> bool:
        """Whether the close was already known at unix time ``when``."""
        confirmed = self.episode.confirmed
        return confirmed is not None and float(self.times[confirmed]) <= when

    def key(self, connector: str) -> str:
        """The stable identity of the episode (without its open/closed state)."""
        return f"{connector}:{self.query.name}:{fingerprint(self.labels)}:{self.start_ts:.0f}"


def fingerprint(labels: dict[str, str]) -> str:
    """A short stable hash of a label set."""
    return hashlib.sha256(orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def detect(matrix: SeriesMatrix, query: MetricQuery) -> Iterator[Finding]:
    """Every anomaly episode of every series in ``matrix``."""
    if matrix.values.size == 0:
        return
    scores, flags = score(matrix.values, query)
    for episode in find_episodes(flags, scores.z, recovery=query.recovery_samples,
                                 min_samples=query.min_samples):
        yield Finding(query=query, labels=matrix.labels[episode.series], episode=episode,
                      times=matrix.times, values=matrix.values[episode.series],
                      scores=scores)


MAX_EPISODES = 64
"""Episodes walked per series and range; more are scored against rolling baselines."""


def score(values: Matrix, query: MetricQuery) -> tuple[ZScores, NDArray[np.bool_]]:
    """z-scores and flags; an episode is judged against the baseline before it began.

    The first pass is one vectorised sweep over every series. A series where an
    anomaly lasts (a flagged sample followed by one anomalous against the same
    baseline) is walked episode by episode: from an episode's first sample on, the
    samples are judged against the baseline as it stood then, until
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
    for row in _lasting(values, scores, flags, threshold, direction):
        sub, sub_flags = _walk(values[row:row + 1], scorer, query, threshold, direction)
        for full, part in ((scores.z, sub.z), (scores.mean, sub.mean), (scores.std, sub.std)):
            full[row] = part[0]
        flags[row] = sub_flags
    return scores, flags


def _walk(values: Matrix, scorer: Callable[..., ZScores], query: MetricQuery,
          threshold: float, direction: Direction) -> tuple[ZScores, NDArray[np.bool_]]:
    """Score one series (a 1-row matrix) episode by episode, with frozen baselines."""
    exclude = np.zeros(values.shape, dtype=bool)
    held: list[tuple[int, int, float, float]] = []     # (first, last col, mean, std)
    position = 0
    for _ in range(MAX_EPISODES):
        scores = carry_baseline(scorer(values, exclude=exclude), values, limit=query.window)
        hits = np.flatnonzero(flag(scores, threshold, direction)[0, position:])
        if hits.size == 0:
            break
        start = position + int(hits[0])
        mean, std = float(scores.mean[0, start]), float(scores.std[0, start])
        z = (values[0, start:] - mean) / std
        anomalous = crosses(z, threshold, direction)
        closing = _closing_run(z, anomalous, query.recovery_samples)
        stop = len(z) if closing is None else closing[1] + 1
        exclude[0, start:start + stop] = anomalous[:stop]
        held.append((start, start + stop - 1, mean, std))
        if closing is None:
            break
        position = start + closing[0]
    scores = carry_baseline(scorer(values, exclude=exclude), values, limit=query.window)
    flags = flag(scores, threshold, direction)
    for first, last, mean, std in held:
        scores.mean[0, first:last + 1] = mean
        scores.std[0, first:last + 1] = std
        scores.z[0, first:last + 1] = (values[0, first:last + 1] - mean) / std
        flags[0, first:last + 1] = exclude[0, first:last + 1]
    return scores, flags


def _closing_run(z: NDArray[np.float64], anomalous: NDArray[np.bool_], recovery: int
                 ) -> tuple[int, int] | None:
    """First and last index of the first ``recovery`` normal samples in a row (samples
    without a verdict skipped), or ``None`` while the episode lasts to the end."""
    judged = np.flatnonzero(np.isfinite(z))
    normal = ~anomalous[judged]
    if normal.sum() < recovery:
        return None
    run = np.convolve(normal.astype(np.int64), np.ones(recovery, dtype=np.int64), "valid")
    found = np.flatnonzero(run == recovery)
    if found.size == 0:
        return None
    first = int(found[0])
    return int(judged[first]), int(judged[first + recovery - 1])


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


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def to_event(finding: Finding, *, connector: str, link: str | None) -> NewEvent:
    """The event for one episode (``open`` or ``closed``)."""
    ep, row = finding.episode, finding.episode.series
    z = float(finding.scores.z[row, ep.peak])
    # Report the baseline as it stood when the episode began: later samples' baselines
    # already contain the anomaly.
    mean = float(finding.scores.mean[row, ep.start])
    std = float(finding.scores.std[row, ep.start])
    value = float(finding.values[ep.peak])
    threshold, direction = finding.query.effective()
    state = "open" if ep.open else "closed"
    labels = finding.labels
    service = labels.get("service") or finding.query.service or labels.get("job")
    episode = {
        "start": _ts(finding.start_ts).isoformat(),
        "peak": _ts(float(finding.times[ep.peak])).isoformat(),
        # The end is when the metric was back (the first normal sample), not when
        # the close was confirmed or when the last anomalous sample was seen.
        "end": _at(finding, ep.recovered) if not ep.open else None,
        "last_anomalous": _at(finding, ep.end),
        "open": ep.open,
        "samples": ep.samples,
    }
    return NewEvent(
        source=Source.METRICS, kind=EventKind.ANOMALY,
        severity=Severity.HIGH if abs(z) >= 2 * threshold else Severity.MEDIUM,
        occurred_at=_ts(finding.start_ts), service=service,
        environment=labels.get("env") or labels.get("environment"),
        host=labels.get("instance") or labels.get("host"),
        title=_title(finding, z, state), url=link,
        body=f"{finding.query.query}\nvalue {value:g} vs baseline {mean:g} ± {std:g} (z={z:.1f})",
        attributes={
            "query": finding.query.name, "promql": finding.query.query,
            "metric_type": finding.query.metric_type.value, "labels": labels,
            "value": value, "baseline_mean": mean, "baseline_std": std, "z": z,
            "threshold": threshold, "direction": direction.value, "state": state,
            "episode": episode, **_story(finding.key(connector), state, episode["end"]),
        },
        dedup_key=f"{finding.key(connector)}:{state}",
    )


def _story(key: str, state: str, end: Any) -> dict[str, Any]:
    """The open event names the closed one and vice versa (``storage.stories``): the
    open event is marked closed, at the episode's end, in whatever order they come."""
    if state == "open":
        return {"concluded_by": f"{key}:closed"}
    return {"concludes": f"{key}:open", "concludes_at": end}


def _at(finding: Finding, column: int | None) -> str | None:
    return None if column is None else _ts(float(finding.times[column])).isoformat()


def _title(finding: Finding, z: float, state: str) -> str:
    shown = ",".join(f"{k}={v}" for k, v in sorted(finding.labels.items()) if k != "__name__")
    name = finding.labels.get("__name__", finding.query.name)
    verb = "rising" if z > 0 else "dropping"
    suffix = " (ongoing)" if state == "open" else ""
    return f"{finding.query.metric_type.value} anomaly: {name}{{{shown}}} {verb}, " \
           f"z={z:.1f}{suffix}"


def graph_link(base_url: str, expr: str, *, end: float, range_seconds: float) -> str:
    """A Prometheus ``/graph`` link showing ``expr`` around the episode."""
    end_input = _ts(end).strftime("%Y-%m-%d %H:%M:%S")
    return (f"{base_url.rstrip('/')}/graph?g0.expr={quote(expr, safe='')}&g0.tab=0"
            f"&g0.range_input={max(int(range_seconds), 60)}s"
            f"&g0.end_input={quote(end_input)}")
