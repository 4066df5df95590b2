"""Reading commits from a repository that may be missing objects.

A shallow clone (``git clone --depth``) has commits whose parents are absent; a
partial clone (``--filter=blob:none``) lacks blobs until asked for them, and asking
needs its remote; a damaged repository lacks whatever was lost. None of that may
fail a whole poll. Here:

* the bulk ``git log`` is tried first (the common case costs one call);
* if it fails, each commit is read alone; a commit whose objects are really absent
  (checked with ``rev-list --missing=print``, which never fetches) is read without
  its changed paths, and one whose commit object is gone is skipped -- both are
  reported, so health can say what was not read;
* a failure with nothing missing is re-raised: it is an outage, retried as usual;
* a ref tip whose history cannot be walked is left out (the other tips are read).

Shallow boundary commits are read without paths: git would diff them against nothing
and call every file added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from connectors.errors import SourceTimeoutError, TransientSourceError
from connectors.git import gitcli
from connectors.git.parse import split_records

SHALLOW = "shallow clone boundary: parents absent"
MISSING = "objects missing from the repository"


@dataclass(slots=True)
class Commits:
    """What could be read of a list of commits."""

    records: list[list[bytes]] = field(default_factory=list)
    paths_unknown: dict[str, str] = field(default_factory=dict)
    """sha -> why its changed paths could not be read."""
    skipped: list[str] = field(default_factory=list)
    """Commits that could not be read at all."""


def _broken(exc: TransientSourceError) -> bool:
    """A failed git call that may be explained by a missing object (not a timeout)."""
    return not isinstance(exc, SourceTimeoutError)


def read_commits(binary: str, repo: Path, shas: Sequence[str], *, timeout: float) -> Commits:
    """Records for ``shas`` (any order); see the module docstring for what is skipped."""
    out = Commits()
    shallow = gitcli.shallow_commits(binary, repo, timeout=timeout)
    boundary = [sha for sha in shas if sha in shallow]
    full = [sha for sha in shas if sha not in shallow]
    try:
        records = split_records(gitcli.commit_log(binary, repo, full, timeout=timeout))
        if len(records) != len(full):
            raise TransientSourceError(f"git log in {repo} returned {len(records)} commits, "
                                       f"expected {len(full)}")
        out.records += records
    except TransientSourceError as exc:
        if not _broken(exc):
            raise
        for sha in full:
            _read_one(binary, repo, sha, timeout, out)
    if boundary:
        out.records += split_records(gitcli.commit_log(binary, repo, boundary, timeout=timeout,
                                                       numstat=False))
        out.paths_unknown.update(dict.fromkeys(boundary, SHALLOW))
    return out


def _read_one(binary: str, repo: Path, sha: str, timeout: float, out: Commits) -> None:
    try:
        out.records += split_records(gitcli.commit_log(binary, repo, [sha], timeout=timeout))
        return
    except TransientSourceError:
        if not gitcli.missing_objects(binary, repo, sha, timeout=timeout):
            raise
    try:
        out.records += split_records(gitcli.commit_log(binary, repo, [sha], timeout=timeout,
                                                       numstat=False))
        out.paths_unknown[sha] = MISSING
    except TransientSourceError:
        out.skipped.append(sha)


def list_new(binary: str, repo: Path, tips: Sequence[str], done: Sequence[str], *,
             timeout: float) -> tuple[list[str], list[str], list[str]]:
    """``(new commits, tips read, tips whose history cannot be walked)``.

    Parents still come before children: each tip's list is in that order, and a commit
    already listed for an earlier tip is not repeated.
    """
    try:
        return gitcli.new_commits(binary, repo, tips, done, timeout=timeout), list(tips), []
    except TransientSourceError as exc:
        if not _broken(exc):
            raise
    listed: dict[str, None] = {}
    good, bad = [], []
    for tip in tips:
        try:
            commits = gitcli.new_commits(binary, repo, [tip], done, timeout=timeout)
        except TransientSourceError as exc:
            if not _broken(exc):
                raise
            bad.append(tip)
            continue
        good.append(tip)
        listed.update(dict.fromkeys(commits))
    return list(listed), good, bad
