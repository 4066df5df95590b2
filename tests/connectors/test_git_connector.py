"""The git connector against real repositories built here with git."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from connectors.base import Batch, Connector
from connectors.errors import PermanentSourceError, TransientSourceError
from connectors.git import GitConfig, GitConnector
from storage import Store
from storage.events import list_events
from storage.queries import EventQuery
from tests.connectors.gitlogs_helpers import Repo, drain, store_batches


def _connector(*repos: Path, **extra: object) -> GitConnector:
    return GitConnector(GitConfig(name="git", repositories=list(repos), **extra))


def _shas(batches: list[Batch]) -> list[str]:
    """Every event's sha (a missing one reads "None" and matches no commit)."""
    return [str(e.commit_sha) for b in batches for e in b.events]


def _all_commits(repo: Repo) -> set[str]:
    return set(repo.git("rev-list", "--all").split())


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """main with two commits, a feature branch merged back, an annotated tag, a side branch."""
    r = Repo(tmp_path / "repo")
    r.commit("init", {"README.md": "hi\n"}, tz="+0200")
    r.commit("pay: add handler", {"services/pay/h.py": "a\nb\n"})
    r.git("checkout", "-q", "-b", "feature")
    r.commit("api: endpoint", {"services/api/e.py": "x\n"}, tz="-0700")
    r.git("checkout", "-q", "main")
    r.commit("docs", {"docs/d.md": "d\n"})
    r.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature",
          env={"GIT_AUTHOR_DATE": "1764009000 +0000", "GIT_COMMITTER_DATE": "1764009000 +0000"})
    r.git("tag", "-a", "v1.0", "-m", "release")
    r.git("checkout", "-q", "-b", "side", "HEAD~1")
    r.commit("side work", {"side.txt": "s\n"})
    r.git("checkout", "-q", "main")
    return r


def test_is_a_connector(repo: Repo) -> None:
    assert isinstance(_connector(repo.path), Connector)


def test_one_event_per_commit_on_every_branch(repo: Repo) -> None:
    connector = _connector(repo.path, services={"payments": ["services/pay/*"],
                                                "api": ["services/api/*"]})
    batches, _ = drain(connector)
    events = {e.commit_sha: e for b in batches for e in b.events}
    assert set(events) == _all_commits(repo) and len(_shas(batches)) == len(events)
    merge = events[repo.head("main")]
    assert merge.attributes["merge"] and len(merge.attributes["parents"]) == 2
    # A merge's changed paths are its diff against the first parent.
    assert [f["path"] for f in merge.attributes["files"]] == ["services/api/e.py"]
    assert merge.attributes["git_tags"] == ["v1.0"] and "main" in merge.attributes["refs"]
    api = events[repo.head("feature")]
    assert api.service == "api" and api.attributes["author"]["tz"] == "-07:00"
    assert events[repo.head("main~1")].title == "docs"
    assert events[repo.head("side")].attributes["refs"] == ["side"]


def test_parents_come_before_children(repo: Repo) -> None:
    order = _shas(drain(_connector(repo.path))[0])
    for sha in order:
        for parent in repo.git("rev-parse", f"{sha}^@").split():
            assert order.index(parent) < order.index(sha)


def test_incremental_and_paginated(repo: Repo) -> None:
    connector = _connector(repo.path, max_commits_per_poll=2)
    batches, cursor = drain(connector)
    assert len(batches) >= 3 and all(len(b.events) <= 2 for b in batches)
    assert sorted(_shas(batches)) == sorted(_all_commits(repo))
    assert drain(connector, cursor)[0][0].events == []
    new = repo.commit("later", {"late.txt": "l\n"})
    assert _shas(drain(connector, cursor)[0]) == [new]


def test_configured_refs_only(repo: Repo) -> None:
    batches, _ = drain(_connector(repo.path, refs=["side"]))
    assert set(_shas(batches)) == set(repo.git("rev-list", "side").split())


def test_force_push_neither_duplicates_nor_loses(repo: Repo, store: Store) -> None:
    """Rewrite main (as a force push would), then gc the old tips away entirely."""
    connector = _connector(repo.path, max_commits_per_poll=3)
    batches, cursor = drain(connector)
    store_batches(store, "git", batches)
    before = _all_commits(repo)
    repo.git("reset", "-q", "--hard", "main~1")
    rewritten = {repo.commit("rewritten 1", {"r.txt": "1\n"}),
                 repo.commit("rewritten 2", {"r.txt": "2\n"})}
    # Old tip still exists (no gc yet): exactly the new commits.
    batches, cursor = drain(connector, cursor)
    assert set(_shas(batches)) == rewritten
    store_batches(store, "git", batches)
    # Now rewrite side too, expire reflogs and prune: the cursor's tips become unreachable.
    repo.git("branch", "-q", "-f", "side", "main~1")
    repo.git("tag", "-d", "v1.0")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    third = repo.commit("after gc", {"g.txt": "g\n"})
    batches, cursor = drain(connector, cursor)
    assert third in _shas(batches)
    results = store_batches(store, "git", batches)
    assert sum(r.stored for r in results) == 1  # the rest were re-read and deduplicated
    with store.read() as session:
        stored = list_events(session=session, query=EventQuery(limit=500)).items
    shas = [e.commit_sha for e in stored]
    assert len(shas) == len(set(shas))
    assert set(shas) == before | rewritten | {third}


def test_several_repositories(repo: Repo, tmp_path: Path) -> None:
    other = Repo(tmp_path / "other")
    mine = other.commit("other repo", {"o.txt": "o\n"})
    connector = _connector(repo.path, other.path, max_commits_per_poll=4)
    batches, _ = drain(connector)
    events = {e.commit_sha: e for b in batches for e in b.events}
    assert set(events) == _all_commits(repo) | {mine}
    assert events[mine].attributes["repository"] == str(other.path)


def test_replay_parses_the_stored_record(repo: Repo) -> None:
    connector = _connector(repo.path)
    event = drain(connector)[0][0].events[0]
    from connectors.git.parse import encode_record
    record = repo.git("log", "-z", "--no-walk", "--numstat", "--format=C%H%x00%P%x00%an%x00%ae"
                      "%x00%aI%x00%cn%x00%ce%x00%cI%x00%D%x00%s%x00%b", event.commit_sha or "")
    from connectors.git.parse import split_records
    raw = encode_record(str(repo.path), split_records(record.encode())[0])
    assert connector.parse(raw) == event


def test_not_a_repository_is_permanent(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(PermanentSourceError, match="not a git repository"):
        _connector(tmp_path / "plain").poll_sync(None)
    with pytest.raises(PermanentSourceError, match="not a directory"):
        _connector(tmp_path / "missing").poll_sync(None)


def test_failing_git_binary(repo: Repo, tmp_path: Path) -> None:
    script = tmp_path / "fake-git"
    script.write_text("#!/bin/sh\necho 'fatal: simulated failure' >&2\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    connector = _connector(repo.path, git_binary=str(script))
    with pytest.raises(TransientSourceError, match="simulated failure"):
        asyncio.run(connector.poll(None))
    with pytest.raises(PermanentSourceError, match="not found"):
        _connector(repo.path, git_binary=str(tmp_path / "nope")).poll_sync(None)
    # The same connector object keeps working once git works again.
    connector.config = connector.config.model_copy(update={"git_binary": "git"})
    assert drain(connector)[0][0].events


def test_unknown_ref_is_permanent(repo: Repo) -> None:
    with pytest.raises(PermanentSourceError, match="none of the configured refs"):
        _connector(repo.path, refs=["does-not-exist"]).poll_sync(None)


def test_unreadable_cursor_starts_over(repo: Repo) -> None:
    batches, _ = drain(_connector(repo.path), "{not json")
    assert set(_shas(batches)) == _all_commits(repo)


def test_one_commit_per_poll_over_diverging_branches(tmp_path: Path) -> None:
    """Each poll's cursor must cover branches read earlier, not only the last commit."""
    r = Repo(tmp_path / "fan")
    root = r.commit("root")
    for branch in ("a", "b", "c"):
        r.git("checkout", "-q", "-b", branch, root)
        for i in range(3):
            r.commit(f"{branch}{i}", {f"{branch}.txt": str(i)})
    batches, _ = drain(_connector(r.path, max_commits_per_poll=1))
    shas = _shas(batches)
    assert len(shas) == len(set(shas)) == 10


def test_paginated_catch_up_lists_the_range_once(tmp_path: Path) -> None:
    r = Repo(tmp_path / "long")
    for i in range(10):
        r.commit(f"c{i}", {"f.txt": str(i)})
    calls = tmp_path / "calls.txt"
    wrapper = tmp_path / "git-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec git "$@"\n')
    wrapper.chmod(0o755)
    connector = _connector(r.path, max_commits_per_poll=3, git_binary=str(wrapper))
    first = connector.poll_sync(None)
    later = r.commit("arrives mid catch-up", {"g.txt": "g"})  # tips move: the cache is dropped
    batches, _ = drain(connector, first.cursor)
    shas = _shas([first, *batches])
    assert len(shas) == len(set(shas)) == 11 and shas[-1] == later
    rev_lists = [c for c in calls.read_text().splitlines() if " rev-list " in c]
    assert len(rev_lists) == 2  # first poll, then once more after the tips moved
