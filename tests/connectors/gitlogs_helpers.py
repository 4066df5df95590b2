"""Helpers for the git and log connector tests: real repositories, real files."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from connectors.base import Batch
from storage import Store
from storage.ingest import ingest
from storage.models import IngestResult

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.org",
    "GIT_COMMITTER_NAME": "Grace Hopper", "GIT_COMMITTER_EMAIL": "grace@example.org",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent", "GIT_CONFIG_GLOBAL": "/dev/null",
}


class Repo:
    """A real git repository driven through the git command line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self._tick = 0

    def git(self, *args: str, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> str:
        """Run git in the repository; return stdout."""
        full_env = {**os.environ, **GIT_ENV, **(env or {})}
        done = subprocess.run(["git", "-C", str(self.path), *args], input=stdin,
                              capture_output=True, env=full_env, check=True)
        return done.stdout.decode()

    def commit(self, message: str, files: dict[str, str] | None = None, *,
               tz: str = "+0000") -> str:
        """Write ``files`` and commit them (or an empty commit); return the sha."""
        for name, content in (files or {}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", "--", name)
        self._tick += 1
        when = f"{1_764_000_000 + self._tick * 60} {tz}"
        self.git("commit", "-q", "--allow-empty", "-F", "-", stdin=message.encode(),
                 env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        """The sha ``ref`` points at."""
        return self.git("rev-parse", ref).strip()


def drain(connector: object, cursor: str | None = None, *,
          limit: int = 1000) -> tuple[list[Batch], str | None]:
    """Poll ``connector.poll_sync`` until caught up; return the batches and the last cursor."""
    batches: list[Batch] = []
    for _ in range(limit):
        batch = connector.poll_sync(cursor)  # type: ignore[attr-defined]
        batches.append(batch)
        cursor = batch.cursor
        if batch.caught_up:
            return batches, cursor
    raise AssertionError(f"not caught up after {limit} polls")


def store_batches(store: Store, name: str, batches: Sequence[Batch]) -> list[IngestResult]:
    """Commit each batch through the one ingest path (events + DLQ + cursor)."""
    results = []
    for batch in batches:
        with store.write() as session:
            results.append(ingest(session=session, events=batch.events,
                                  dead_letters=batch.dead_letters, connector=name,
                                  cursor=batch.cursor))
    return results
