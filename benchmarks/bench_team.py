"""Three ``workbench serve`` on one PostgreSQL database; kill -9 the lease holder N times.

Each trial kills the instance holding ``tail-a``'s lease while lines are written
and webhook batches are posted to every instance, measures how long until another
instance holds each of its leases (from the store's ``acquired_at``), and starts a
replacement. At the end: lines written vs stored per connector (lost, duplicated),
investigations vs alert episodes, ERROR lines, overlapping upstream pollers.

Goal: takeover <= 2 poll intervals + lease TTL. Baseline in the same run: the TTL
itself (the bound a lease can give), so ``ratio = takeover / (TTL + 2 intervals)``.

    WORKBENCH_TEST_PG_URL=postgresql://... python -m benchmarks.bench_team --trials 10
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.harness import Report, percentiles
from benchmarks.team_cluster import INTERVAL, TTL, Cluster, wait_for


def run(url: str, work: Path, trials: int, report: Report) -> None:
    """Start three instances, run ``trials`` kill -9 trials, check conservation."""
    team = Cluster(url, work)
    takeovers: list[float] = []
    try:
        for _ in range(3):
            team.start()
        for writer in team.writers.values():
            writer.start()
        team.post_episodes(10)
        for trial in range(trials):
            time.sleep(1.5)
            leases = team.leases()
            victim_pid = leases["connector:tail-a"][0]
            assert victim_pid is not None
            victim = next(i for i in team.instances if i.process.pid == victim_pid)
            killed_at = team.kill(victim)
            team.post_episodes(5)
            taken = team.takeover(victim_pid, killed_at)
            takeovers.extend(taken.values())
            sys.stderr.write(f"trial {trial + 1}: took over {len(taken)} leases in "
                             f"{', '.join(f'{n} {s:.2f}s' for n, s in sorted(taken.items()))}\n")
            team.start()
        for writer in team.writers.values():
            writer.stop.set()
        wait_for(team.settled, "every line stored and grouped", timeout=300)
        _conservation(team, report)
    finally:
        team.stop()
    summary = percentiles(takeovers)
    bound = TTL + 2 * INTERVAL
    for name, value in summary.items():
        report.figure("takeover", name, "project", value, "s")
    report.figure("takeover", "bound: TTL + 2 poll intervals", "anchor", bound, "s")
    report.goal("takeover <= TTL + 2 poll intervals", max(takeovers) / bound, 1.0,
                higher_is_better=False, detail=f"{len(takeovers)} leases over {trials} kills")


def _conservation(team: Cluster, report: Report) -> None:
    for name, writer in team.writers.items():
        lines = team.stored_lines(name)
        report.figure("conserve", f"{name} lines written", "info", writer.written, "lines")
        report.figure("conserve", f"{name} lost", "info",
                      len(set(range(1, writer.written + 1)) - set(lines)), "lines")
        report.figure("conserve", f"{name} duplicated", "info", len(lines) - len(set(lines)),
                      "lines")
    investigations = team.sql("SELECT count(*) FROM investigation")[0][0]
    report.figure("conserve", "alert episodes", "info", team.episodes, "episodes")
    report.figure("conserve", "investigations", "info", investigations, "investigations")
    report.figure("conserve", "ERROR lines", "info", len(team.error_lines()), "lines")
    report.figure("conserve", "overlapping upstream pollers", "info",
                  team.upstream.overlaps(), "pairs")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    base = os.environ.get("WORKBENCH_TEST_PG_URL")
    if not base:
        raise SystemExit("set WORKBENCH_TEST_PG_URL to a PostgreSQL server")
    from tests.conftest import _pg_database

    report = Report("bench_team")
    with TemporaryDirectory() as tmp:
        for url in _pg_database():
            run(url, Path(tmp), args.trials, report)
    if report.failed():
        raise SystemExit(1)


if __name__ == "__main__":
    main()
