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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field

from connectors.metrics.episodes import DEFAULTS, Direction, Episode, MetricType, find_episodes
from connectors.metrics.scoring import score
from connectors.metrics.series import SeriesMatrix
from connectors.metrics.zscore import ZScores
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
