"""A small benchmark harness shared by the benchmarks (performance.md §9).

- :func:`interleave` runs the anchor and the project variants in turn (A, P, A, P...)
  so that a slow stretch of a noisy VM hits both; compare medians of >= 3 repeats.
- :func:`percentiles` summarises latency samples (p50, p90, p99, max).
- :class:`Report` prints human-readable lines to stderr and one JSON object per
  figure to stdout (or a file): ``{scenario, variant, role, value, unit, reps,
  machine}``; :meth:`Report.goal` computes a ratio in the same run and grades it
  PASS, WARN (inside the 10% noise band) or FAIL.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import IO, Any, Literal

NOISE_BAND = 0.10
Role = Literal["anchor", "project", "info"]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sqlite_info() -> dict[str, Any]:
    """The linked SQLite library: version and compile options (they shift numbers)."""
    conn = sqlite3.connect(":memory:")
    try:
        options = [row[0] for row in conn.execute("PRAGMA compile_options")]
    finally:
        conn.close()
    return {"version": sqlite3.sqlite_version, "compile_options": options}


def machine_info(libs: Sequence[str] = ("sqlalchemy", "pydantic", "orjson")) -> dict[str, Any]:
    """What the figures were measured on."""
    versions = {}
    for lib in libs:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite_info(),
        "libs": versions,
        "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def timed(fn: Callable[[], Any]) -> float:
    """Seconds taken by one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(variants: dict[str, Callable[[], Any]], reps: int = 3,
               setup: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Run every variant once per repeat, in turn; seconds per run for each variant.

    ``setup(name)`` runs untimed before each timed run (a fresh database, say).
    """
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, fn in variants.items():
            if setup is not None:
                setup(name)
            times[name].append(timed(fn))
    return times


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of ``samples``."""
    return {"p50": percentile(samples, 50), "p90": percentile(samples, 90),
            "p99": percentile(samples, 99), "max": max(samples)}


@dataclass
class Report:
    """Collects figures and goal verdicts; prints them as they come."""

    benchmark: str
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    machine: dict[str, Any] = field(default_factory=machine_info)
    verdicts: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._emit({"benchmark": self.benchmark, "machine": self.machine})
        self.say(f"# {self.benchmark}: {self.machine['cpu']}, {self.machine['cores']} cores, "
                 f"Python {self.machine['python']}, SQLite {self.machine['sqlite']['version']}")

    def say(self, text: str) -> None:
        """A human-readable line (stderr, so stdout stays JSON lines)."""
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def _emit(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, default=str) + "\n")
        self.out.flush()

    def figure(self, scenario: str, variant: str, role: Role, value: float, unit: str,
               reps: Sequence[float] = (), **extra: Any) -> None:
        """One measured figure (a median, a rate, a percentile...)."""
        record = {"scenario": scenario, "variant": variant, "role": role, "value": value,
                  "unit": unit, "reps": list(reps), **extra}
        self._emit(record)
        shown = ", ".join(f"{r:.4g}" for r in reps)
        self.say(f"{scenario:>6} {variant:<40} {value:>12.4g} {unit}"
                 + (f"   reps [{shown}]" if reps else ""))

    def goal(self, goal_id: str, ratio: float, target: float, *,
             higher_is_better: bool, detail: str = "") -> str:
        """Grade ``ratio`` against ``target``: PASS, WARN (within the noise band) or FAIL."""
        if higher_is_better:
            verdict = "PASS" if ratio >= target else (
                "WARN" if ratio >= target * (1 - NOISE_BAND) else "FAIL")
            sign = ">="
        else:
            verdict = "PASS" if ratio <= target else (
                "WARN" if ratio <= target * (1 + NOISE_BAND) else "FAIL")
            sign = "<="
        self._emit({"goal": goal_id, "ratio": ratio, "target": target,
                    "higher_is_better": higher_is_better, "verdict": verdict,
                    "detail": detail})
        self.say(f"{verdict} {goal_id}: {ratio:.3f} (goal {sign} {target}) {detail}")
        self.verdicts.append((goal_id, verdict))
        return verdict

    def failed(self) -> list[str]:
        """Goals that failed outright (WARN is not a failure)."""
        return [goal for goal, verdict in self.verdicts if verdict == "FAIL"]


def median(values: Sequence[float]) -> float:
    """The median (re-exported so benchmarks need one import)."""
    return statistics.median(values)
