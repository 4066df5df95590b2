"""The git connector: incremental, force-push safe.

Cursor: per repository, the commits already fully read ("done" tips). A poll reads
the current ref tips, keeps the done tips that still exist (a force push followed by
gc can delete them), and lists ``tips --not done`` with ``rev-list --reverse
--topo-order``: parents come before children, so any prefix of that list is closed
under ancestry within the range. A poll takes at most ``max_commits_per_poll`` of
them; the cursor then records the prefix's frontier, or the ref tips once the range
is exhausted. Hence:

* a rewritten history yields exactly the commits not yet read (the old tip, if it
  still exists, excludes the shared ancestry);
* an old tip that no longer exists is dropped, so its ancestry is listed again, and
  the dedup key (the sha) stores each commit once: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import orjson

from connectors.base import Batch
from connectors.errors import (
    ConnectorError,
    PermanentSourceError,
    PoisonRecordError,
    TransientSourceError,
)
from connectors.git import gitcli
from connectors.git.config import GitConfig
from connectors.git.parse import (
    CommitContext,
    ServiceRules,
    decode_record,
    encode_record,
    parse_commit,
)
from connectors.git.reading import MISSING, list_new, read_commits
from storage.models import NewDeadLetter, NewEvent

CURSOR_VERSION = 1


def load_cursor(cursor: str | None) -> dict[str, list[str]]:
    """Done tips per repository; an unreadable cursor starts over (dedup absorbs it)."""
    if not cursor:
        return {}
    try:
        data = orjson.loads(cursor)
        repos = data["repos"] if data.get("v") == CURSOR_VERSION else {}
        return {str(k): [str(s) for s in v] for k, v in repos.items()}
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
        return {}


def dump_cursor(state: dict[str, list[str]]) -> str:
    """The cursor string for ``state``."""
    return orjson.dumps({"v": CURSOR_VERSION, "repos": state}).decode()


@dataclass(slots=True)
class _Collected:
    events: list[NewEvent] = field(default_factory=list)
    dead: list[NewDeadLetter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class GitConnector:
    """One event per commit from the configured local repositories."""

    kind: ClassVar[str] = "git"

    def __init__(self, config: GitConfig) -> None:
        self.config = config
        self.name = config.name
        self._services = ServiceRules.from_globs(config.services)
        # Per repository: (tips, done tips, commits still pending) after the last poll.
        # A paginated catch-up then lists the range once instead of once per page.
        self._pending: dict[str, tuple[list[str], list[str], list[str]]] = {}

    async def poll(self, cursor: str | None) -> Batch:
        """Read up to ``max_commits_per_poll`` new commits (git runs in a thread)."""
        return await asyncio.to_thread(self.poll_sync, cursor)

    def parse(self, raw: bytes) -> NewEvent:
        """Re-parse a stored commit record (DLQ replay)."""
        repository, record = decode_record(raw)
        return parse_commit(record, self._context(repository))

    def _context(self, repository: str) -> CommitContext:
        return CommitContext(repository=repository, services=self._services,
                             environment=self.config.environment,
                             max_paths=self.config.max_paths_per_commit)

    def poll_sync(self, cursor: str | None) -> Batch:
        """The blocking body of :meth:`poll`.

        A repository that cannot be read is skipped for this poll (its cursor kept) and
        named in the batch's warnings; the others are read as usual. Only if every
        repository failed does the poll fail, so retries and the breaker still see an
        outage of the whole source.
        """
        state = load_cursor(cursor)
        budget = self.config.max_commits_per_poll
        out = _Collected()
        caught_up = True
        failures: list[ConnectorError] = []
        for repo in self.config.repositories:
            if budget == 0:
                caught_up = False
                break
            key = str(repo)
            try:
                state[key], finished, taken = self._poll_repo(repo, state.get(key, []),
                                                              budget, out)
            except (PermanentSourceError, TransientSourceError) as exc:
                failures.append(exc)
                out.warnings.append(f"{repo}: not read this poll: {exc}")
                continue
            budget -= taken
            caught_up = caught_up and finished
        if failures and len(failures) == len(self.config.repositories):
            raise failures[0]
        return Batch(events=out.events, dead_letters=out.dead, cursor=dump_cursor(state),
                     caught_up=caught_up, warnings=tuple(out.warnings))

    def _poll_repo(self, repo: Path, done: list[str], budget: int,
                   out: _Collected) -> tuple[list[str], bool, int]:
        """Read one repository; return its new done tips, whether it is exhausted, and count."""
        binary, timeout = self.config.git_binary, self.config.timeout_seconds
        gitcli.check_repository(binary, repo, timeout=timeout)
        tips = gitcli.ref_tips(binary, repo, self.config.refs, timeout=timeout)
        done = gitcli.existing_commits(binary, repo, done, timeout=timeout)
        cached = self._pending.pop(str(repo), None)
        if cached is not None and cached[0] == tips and cached[1] == done:
            pending, readable = cached[2], tips
        else:
            pending, readable, unreadable = list_new(binary, repo, tips, done, timeout=timeout)
            out.warnings += [f"{repo}: history of ref tip {sha} cannot be walked "
                             "(objects missing); that ref is not read" for sha in unreadable]
        taken = pending[:budget]
        commits = read_commits(binary, repo, taken, timeout=timeout)
        out.warnings += [f"{repo}: commit {sha} cannot be read (objects missing); skipped"
                         for sha in commits.skipped]
        missing = sum(why == MISSING for why in commits.paths_unknown.values())
        if missing:
            out.warnings.append(f"{repo}: {missing} commit(s) stored without changed paths "
                                "(objects missing)")
        parents = self._collect(str(repo), commits.records, out, commits.paths_unknown)
        if len(taken) == len(pending):
            return readable, True, len(taken)
        frontier = _frontier(done, taken, parents)
        # Valid only if the next poll resumes from exactly this cursor with the same tips.
        self._pending[str(repo)] = (tips, frontier, pending[len(taken):])
        return frontier, False, len(taken)

    def _collect(self, repository: str, records: Sequence[Sequence[bytes]],
                 out: _Collected, paths_unknown: dict[str, str]) -> set[str]:
        """Parse each record into ``out``; return every parent sha seen."""
        ctx = self._context(repository)
        parents: set[str] = set()
        for record in records:
            if len(record) > 1:
                parents.update(record[1].decode("ascii", "replace").split())
            sha = record[0][1:].decode("ascii", "replace") if record else ""
            try:
                out.events.append(parse_commit(record, ctx,
                                               paths_unknown=paths_unknown.get(sha)))
            except PoisonRecordError as exc:
                out.dead.append(self._dead_letter(exc, repository, record))
            except ValueError as exc:  # pydantic validation of the built event
                out.dead.append(self._dead_letter(
                    PoisonRecordError(str(exc)[:2000], payload=encode_record(repository, record),
                                      error_class=type(exc).__name__), repository, record))
        return parents

    def _dead_letter(self, exc: PoisonRecordError, repository: str,
                     record: Sequence[bytes]) -> NewDeadLetter:
        sha = record[0][1:].decode("ascii", "replace")[:64] if record else "?"
        return NewDeadLetter(connector=self.name, payload=exc.payload,
                             error_class=exc.error_class, message=str(exc)[:8000],
                             source_ref=f"{repository}@{sha}"[:2000])


def _frontier(done: list[str], taken: list[str], parents: set[str]) -> list[str]:
    """Done tips after reading the prefix ``taken``: drop tips that ``taken`` now covers."""
    kept = [sha for sha in done if sha not in parents]
    return kept + [sha for sha in taken if sha not in parents]
