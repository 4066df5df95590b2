"""Three real ``workbench serve`` on one PostgreSQL database, then kill -9 of the lease holder.

The same config everywhere: two log connectors on growing, rotating files, an
Alertmanager pull connector against an upstream that keeps an access log, grouping
with auto-open, and every webhook batch posted to every instance at once. After
the run: events = lines written (0 lost, 0 duplicated), investigations = distinct
alert episodes, no ERROR (deadlock, unique violation) lines, and the upstream saw
one poller at a time. ``benchmarks/bench_team.py`` runs the kill trial 10 times.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.team_cluster import INTERVAL, TTL, Cluster, wait_for
from tests.conftest import _pg_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if not os.environ.get("WORKBENCH_TEST_PG_URL"):
        pytest.skip("WORKBENCH_TEST_PG_URL is not set")
    for url in _pg_database():
        team = Cluster(url, tmp_path)
        try:
            yield team
        finally:
            team.stop()


def _conserved(team: Cluster) -> None:
    for writer in team.writers.values():
        writer.stop.set()
    wait_for(team.settled, "every line stored and grouped")
    for name, writer in team.writers.items():
        lines = team.stored_lines(name)
        assert len(lines) == len(set(lines)), f"{name}: duplicated lines"
        assert sorted(lines) == list(range(1, writer.written + 1)), f"{name}: lost lines"
        assert writer.rotations >= 1
    investigations = team.sql("SELECT count(*) FROM investigation")[0][0]
    assert investigations == team.episodes, "one investigation per alert episode"
    assert team.error_lines() == []
    assert team.upstream.overlaps() == 0, "two instances polled the upstream at once"


def test_three_instances_share_the_work_and_survive_kill_dash_nine(cluster: Cluster) -> None:
    team = cluster
    for _ in range(3):
        team.start()
    for writer in team.writers.values():
        writer.start()
    team.post_episodes(15)
    time.sleep(2)
    leases = team.leases()
    holders = {pid for pid, _, live in leases.values() if live}
    # tail-a, tail-b, grouping and patterns (log pattern mining, issue 16)
    assert len(leases) == 5 and all(live for *_, live in leases.values()), leases
    # kill -9 the instance holding the tail-a lease, mid-stream and mid-webhooks.
    victim_pid = leases["connector:tail-a"][0]
    assert victim_pid is not None
    victim = next(i for i in team.instances if i.process.pid == victim_pid)
    killed_at = team.kill(victim)
    team.post_episodes(10)
    taken = team.takeover(victim_pid, killed_at)
    assert set(taken) == {n for n, (pid, _, live) in leases.items() if pid == victim_pid}
    assert max(taken.values()) <= TTL + 2 * INTERVAL + 1.0, taken  # 1 s: slack for 2 cores
    team.start()  # a replacement joins as a standby
    team.post_episodes(10)
    time.sleep(1)
    _conserved(team)
    assert holders  # at least one instance held leases from the start
