"""Rolling z-score over S series x P points vs a bare numpy cumsum (AN-1, goal <= 1.5x).

Anchor (A): the two-cumsum rolling z of performance.md §6 -- window of the ``W``
samples before each one, no missing-data handling, no floor, no minimum baseline.
Project (P): ``connectors.metrics.zscore.rolling_zscore`` (NaN-aware, centred,
floored, minimum baseline). Also reported without a goal: ``detect`` (P plus
flags, the rescoring of flagged series and episodes).

Interleaved A, P, detect, A, P, ... ; medians of ``--reps``; one JSON line per variant.

    .venv/bin/python benchmarks/bench_zscore.py 10000 360 --window 30 --reps 5
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.metrics.detect import MetricQuery  # noqa: E402
from connectors.metrics.episodes import MetricType, find_episodes  # noqa: E402
from connectors.metrics.scoring import score  # noqa: E402
from connectors.metrics.zscore import rolling_zscore  # noqa: E402

GOAL = 1.5


def make_matrix(series: int, points: int, seed: int = 3) -> np.ndarray:
    """Noisy series around different levels, with a spike in 1% of them."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(0.05, 500.0, size=(series, 1))
    values = levels * (1 + 0.05 * rng.standard_normal((series, points)))
    spiky = rng.choice(series, size=max(1, series // 100), replace=False)
    values[spiky, points // 2: points // 2 + 5] *= 8
    return values


def anchor(values: np.ndarray, window: int) -> np.ndarray:
    """The bare two-cumsum rolling z (baseline = the ``window`` samples before)."""
    rows, cols = values.shape
    c1 = np.empty((rows, cols + 1))
    c2 = np.empty((rows, cols + 1))
    c1[:, 0] = c2[:, 0] = 0.0
    np.cumsum(values, axis=1, out=c1[:, 1:])
    np.cumsum(values * values, axis=1, out=c2[:, 1:])
    mean = (c1[:, window:cols] - c1[:, : cols - window]) / window
    var = (c2[:, window:cols] - c2[:, : cols - window]) / window - mean * mean
    with np.errstate(divide="ignore", invalid="ignore"):
        return (values[:, window:] - mean) / np.sqrt(np.maximum(var, 0.0))


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; returns the medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", type=int, nargs="?", default=10_000)
    parser.add_argument("points", type=int, nargs="?", default=360)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    values = make_matrix(args.series, args.points)
    query = MetricQuery(name="bench", query="x", metric_type=MetricType.LATENCY,
                        window=args.window, min_baseline=10)
    variants: dict[str, Callable[[], object]] = {
        "anchor cumsum": lambda: anchor(values, args.window),
        "rolling_zscore": lambda: rolling_zscore(values, window=args.window, min_baseline=10),
        "detect (z+flags+episodes)": lambda: _detect(values, query),
    }
    for fn in variants.values():   # warm-up: page in, numpy dispatch caches
        fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.reps):
        for name, fn in variants.items():
            samples[name].append(_time(fn))
    medians = {name: statistics.median(times) for name, times in samples.items()}
    _report(args, samples, medians)
    ratio = medians["rolling_zscore"] / medians["anchor cumsum"]
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    sys.stdout.write(f"ratio rolling_zscore/anchor = {ratio:.2f}x (goal <= {GOAL}x) {verdict}\n")
    return {"medians": medians, "ratio": ratio}


def _detect(values: np.ndarray, query: MetricQuery) -> int:
    scores, flags = score(values, query)
    return len(find_episodes(flags, scores.z))


def _report(args: argparse.Namespace, samples: dict[str, list[float]],
            medians: dict[str, float]) -> None:
    machine = {"python": platform.python_version(), "numpy": np.__version__,
               "cpu": platform.processor() or platform.machine()}
    for name, times in samples.items():
        role = "anchor" if name.startswith("anchor") else "project"
        sys.stdout.write(orjson.dumps({
            "scenario": f"zscore {args.series}x{args.points} w={args.window}", "variant": name,
            "role": role, "value": round(medians[name], 5), "unit": "s",
            "reps": [round(t, 5) for t in times], "machine": machine}).decode() + "\n")


if __name__ == "__main__":
    main()
