"""PostgreSQL restarted under load: every instance recovers by itself, nothing acknowledged lost.

A throwaway PostgreSQL cluster (initdb on a free port, never the shared server) is
restarted while two ``workbench serve`` instances tail growing logs and receive
webhook batches. Receivers answer 503 + Retry-After while the store is down; the
sender retries, as Alertmanager does. Afterwards: both processes still run, every
line is stored once, every episode acknowledged with 200 is stored, the leases are
held again, and no instance logged a traceback of a crash.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.team_cluster import TOKEN, Cluster, free_port, wait_for, webhook

pytestmark = pytest.mark.slow
BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                   capture_output=True, timeout=120)


class Throwaway:
    """A private PostgreSQL cluster in a temporary directory, on a free port."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="wbpg-"))
        shutil.chown(self.home, "postgres")
        self.data, self.port = self.home / "data", free_port()
        self.url = f"postgresql://workbench@127.0.0.1:{self.port}/postgres"
        _as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-U", "workbench",
                     "--auth=trust")

    def start(self) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-l",
                     str(self.home / "pg.log"), "-w", "-o",
                     f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def throwaway_pg() -> Iterator[Throwaway]:
    """A private PostgreSQL cluster (never the shared server)."""
    if os.geteuid() != 0 or not (BIN / "initdb").exists() or not shutil.which("runuser"):
        pytest.skip("needs root and PostgreSQL 15 binaries to run a throwaway cluster")
    cluster = Throwaway()
    cluster.start()
    try:
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D",
                        str(cluster.data), "-m", "immediate", "stop"], capture_output=True,
                       check=False)
        shutil.rmtree(cluster.home, ignore_errors=True)


class Sender(threading.Thread):
    """Posts one new alert episode at a time to every instance, retrying like Alertmanager."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__(daemon=True)
        self.ports, self.refusals = ports, 0
        self.acknowledged: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        with httpx.Client(timeout=30) as client:
            for number in range(1_000_000):
                if self.stop.is_set():
                    return
                port = self.ports[number % len(self.ports)]
                url = f"http://127.0.0.1:{port}/api/webhooks/alertmanager"
                while not self.stop.is_set():
                    response = client.post(url, content=webhook(range(number, number + 1)),
                                           headers=headers)
                    if response.status_code == 200:
                        self.acknowledged.add(number)
                        break
                    assert response.status_code == 503, response.text
                    assert response.headers["Retry-After"].isdigit()
                    self.refusals += 1
                    time.sleep(0.5)  # shorter than Retry-After: the test has a budget
                time.sleep(0.05)


def test_instances_recover_from_a_postgresql_restart(throwaway_pg: Throwaway,
                                                     tmp_path: Path) -> None:
    pg = throwaway_pg
    team = Cluster(pg.url, tmp_path)
    sender = Sender([])
    try:
        for _ in range(2):
            team.start()
        for writer in team.writers.values():
            writer.start()
        sender.ports = [i.port for i in team.instances]
        sender.start()
        time.sleep(3)
        pg.stop()
        time.sleep(4)  # down for a while: receivers must refuse, polls must fail
        pg.start()
        time.sleep(6)
        sender.stop.set()
        sender.join(timeout=60)
        for writer in team.writers.values():
            writer.stop.set()
        wait_for(team.settled, "every line stored and grouped after the restart", 180)
        assert all(i.alive() for i in team.instances)
        for name, writer in team.writers.items():
            lines = team.stored_lines(name)
            assert sorted(lines) == list(range(1, writer.written + 1)), name
        stored = {int(r[0].removeprefix("fp-")) for r in team.sql(
            "SELECT DISTINCT attributes::jsonb ->> 'fingerprint' FROM event "
            "WHERE kind = 'alert' AND attributes::jsonb ->> 'fingerprint' LIKE 'fp-%'")}
        assert sender.acknowledged and sender.acknowledged <= stored
        assert sender.refusals > 0, "the store was down: some delivery must have been refused"
        wait_for(lambda: all(live for *_, live in team.leases().values()), "leases held again")
    finally:
        sender.stop.set()
        team.stop()
