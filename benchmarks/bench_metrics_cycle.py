"""Full metrics poll cycle, response bytes -> anomaly events, vs a bare pipeline (AN-2).

Payload: a synthetic ``/api/v1/query_range`` matrix in Prometheus' wire format
(values as strings), S series x P points (10k x 360 = 3.6M samples, ~80 MiB).

Anchor (A): ``orjson.loads`` with the GC paused, strings -> a 2-D float64 array,
bare cumsum rolling z (``bench_zscore.anchor``) and ``|z| > 3`` flags.
Project (P): ``PrometheusConnector.poll`` answered by an ``httpx.MockTransport``
holding the same bytes: HTTP guards, decode, grid alignment, NaN-aware z-score,
direction, rescoring, episodes and the events (goal: <= 1.3x A).

    .venv/bin/python benchmarks/bench_metrics_cycle.py 10000 360 --reps 3
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_zscore import anchor, make_matrix  # noqa: E402
from connectors.metrics import (  # noqa: E402
    MetricQuery,
    MetricType,
    PrometheusConfig,
    PrometheusConnector,
)

GOAL = 1.3
STEP = 15.0
END = 1_800_000_000.0


def make_payload(series: int, points: int) -> bytes:
    """The wire-format matrix for ``make_matrix`` values on a 15 s grid ending at END."""
    values = make_matrix(series, points)
    stamps = END - STEP * np.arange(points - 1, -1, -1)
    stamp_list = [float(t) for t in stamps]
    result = []
    for i, row in enumerate(values):
        labels = {"__name__": "http_request_duration_seconds", "service": f"svc-{i % 200}",
                  "instance": f"10.0.{i // 250}.{i % 250}:9100"}
        result.append({"metric": labels,
                       "values": [[t, f"{v:.6g}"] for t, v in zip(stamp_list, row.tolist(),
                                                                  strict=True)]})
    return orjson.dumps({"status": "success",
                         "data": {"resultType": "matrix", "result": result}})


def run_anchor(payload: bytes, window: int) -> int:
    """orjson (GC paused) + float conversion + numpy z + flags."""
    gc.disable()
    try:
        data = orjson.loads(payload)
        values = np.array([[v for _, v in s["values"]] for s in data["data"]["result"]],
                          dtype=np.float64)
        del data
    finally:
        gc.enable()
    with np.errstate(invalid="ignore"):
        return int((anchor(values, window) > 3).sum())


def run_project(payload: bytes, points: int, window: int) -> int:
    """The connector's poll over a mock transport holding ``payload``."""
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=payload,
                              headers={"Content-Type": "application/json"})

    config = PrometheusConfig(
        name="bench", url="http://prom.bench", step_seconds=STEP,
        initial_lookback_seconds=STEP * (points - 1 - window),
        max_response_bytes=len(payload) + 1,
        queries=[MetricQuery(name="latency", query="http_request_duration_seconds",
                             metric_type=MetricType.LATENCY, window=window, min_baseline=10)])

    async def poll() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            batch = await PrometheusConnector(config, client, clock=lambda: END).poll(None)
        return len(batch.events)

    return asyncio.run(poll())


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; returns medians, event count and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", type=int, nargs="?", default=10_000)
    parser.add_argument("points", type=int, nargs="?", default=360)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    payload = make_payload(args.series, args.points)
    sys.stdout.write(f"payload: {len(payload) / 2**20:.1f} MiB, "
                     f"{args.series * args.points:,} samples\n")
    times: dict[str, list[float]] = {"anchor": [], "project": []}
    events = 0
    run_anchor(payload, args.window)   # warm-up
    for _ in range(args.reps):
        start = time.perf_counter()
        run_anchor(payload, args.window)
        times["anchor"].append(time.perf_counter() - start)
        start = time.perf_counter()
        events = run_project(payload, args.points, args.window)
        times["project"].append(time.perf_counter() - start)
    medians = {k: statistics.median(v) for k, v in times.items()}
    machine = {"python": platform.python_version(), "numpy": np.__version__}
    for role, samples in times.items():
        sys.stdout.write(orjson.dumps({
            "scenario": f"metrics cycle {args.series}x{args.points}", "variant": role,
            "role": role, "value": round(medians[role], 4), "unit": "s",
            "reps": [round(t, 4) for t in samples], "machine": machine}).decode() + "\n")
    ratio = medians["project"] / medians["anchor"]
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    sys.stdout.write(f"events: {events}; ratio project/anchor = {ratio:.2f}x "
                     f"(goal <= {GOAL}x) {verdict}\n")
    return {"medians": medians, "ratio": ratio, "events": events}


if __name__ == "__main__":
    main()
