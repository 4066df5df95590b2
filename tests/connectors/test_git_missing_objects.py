"""Real repositories missing objects: a ``git clone --depth`` clone, a deleted blob, a
deleted commit, a partial clone whose remote is gone, a path that is no repository.
One unreadable thing never fails the poll of the others, and health says what was skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import PermanentSourceError
from connectors.git import GitConfig, GitConnector
from connectors.git.reading import MISSING, SHALLOW
from connectors.supervisor import Supervisor
from storage import Store
from tests.connectors.gitlogs_helpers import GIT_ENV, Repo
from workbench.cli.main import main
from workbench.tui.health_data import connector_rows
from workbench.tui.widgets.rows import ConnectorRows


def _repo(path: Path, commits: int = 4) -> Repo:
    repo = Repo(path)
    for i in range(commits):
        repo.commit(f"c{i}", {f"svc/f{i}.txt": f"line {i}\n"})
    return repo


def _clone(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True,
                   env={**GIT_ENV, "PATH": "/usr/bin:/bin"})


def _loose(repo: Repo, sha: str) -> Path:
    return repo.path / ".git" / "objects" / sha[:2] / sha[2:]


def _poll(*paths: Path) -> tuple[list[str], dict[str, dict[str, Any]], list[str]]:
    batch = GitConnector(GitConfig(name="g", repositories=list(paths))).poll_sync(None)
    by_sha = {e.effective_dedup_key(): e.attributes for e in batch.events}
    return [e.title for e in batch.events], by_sha, list(batch.warnings)


def test_shallow_clone_boundary_has_no_invented_paths(tmp_path: Path) -> None:
    src = _repo(tmp_path / "src")
    _clone("clone", "-q", "--depth", "2", f"file://{src.path}", str(tmp_path / "shallow"))
    titles, attrs, warnings = _poll(tmp_path / "shallow")
    assert sorted(titles) == ["c2", "c3"] and warnings == []
    boundary, tip = src.head("HEAD~1"), src.head()
    # git would diff the boundary against nothing: f0, f1 and f2 all "added".
    assert attrs[boundary]["paths_unknown"] == SHALLOW and attrs[boundary]["files"] == []
    assert [f["path"] for f in attrs[tip]["files"]] == ["svc/f3.txt"]
    assert "paths_unknown" not in attrs[tip]


def test_deleted_blob_keeps_the_commit_and_other_repositories(tmp_path: Path) -> None:
    broken, healthy = _repo(tmp_path / "broken"), _repo(tmp_path / "healthy", 2)
    damaged = broken.head("HEAD~1")
    _loose(broken, broken.head("HEAD~1:svc/f2.txt")).unlink()
    titles, attrs, warnings = _poll(broken.path, healthy.path)
    assert sorted(titles) == ["c0", "c0", "c1", "c1", "c2", "c3"]
    assert attrs[damaged]["paths_unknown"] == MISSING
    assert warnings == [f"{broken.path}: 1 commit(s) stored without changed paths "
                        "(objects missing)"]


def test_deleted_commit_skips_that_ref_only(tmp_path: Path) -> None:
    broken, healthy = _repo(tmp_path / "broken"), _repo(tmp_path / "healthy", 2)
    tip = broken.head()
    _loose(broken, broken.head("HEAD~2")).unlink()
    titles, _, warnings = _poll(broken.path, healthy.path)
    assert sorted(titles) == ["c0", "c1"]      # the healthy repository, all of it
    assert warnings == [f"{broken.path}: history of ref tip {tip} cannot be walked "
                        "(objects missing); that ref is not read"]


def test_partial_clone_without_its_remote(tmp_path: Path) -> None:
    src = _repo(tmp_path / "src", 3)
    src.git("config", "uploadpack.allowFilter", "true")
    _clone("clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{src.path}",
           str(tmp_path / "partial"))
    shutil.rmtree(src.path)     # the promisor remote is gone: blobs cannot be fetched
    titles, attrs, warnings = _poll(tmp_path / "partial")
    assert sorted(titles) == ["c0", "c1", "c2"]
    assert all(a["paths_unknown"] == MISSING for a in attrs.values())
    assert warnings == [f"{tmp_path / 'partial'}: 3 commit(s) stored without changed paths "
                        "(objects missing)"]


def test_not_a_repository_beside_a_good_one(tmp_path: Path) -> None:
    healthy = _repo(tmp_path / "healthy", 1)
    (tmp_path / "plain").mkdir()
    titles, _, warnings = _poll(tmp_path / "plain", healthy.path)
    assert titles == ["c0"] and len(warnings) == 1
    assert warnings[0].startswith(f"{tmp_path / 'plain'}: not read this poll: ")
    with pytest.raises(PermanentSourceError):   # nothing readable at all: the poll fails
        _poll(tmp_path / "plain")


async def test_health_shows_what_was_skipped(tmp_path: Path, sqlite_store: Store,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    broken, healthy = _repo(tmp_path / "broken", 3), _repo(tmp_path / "healthy", 1)
    _loose(broken, broken.head("HEAD~1")).unlink()
    config = GitConfig(name="git", repositories=[broken.path, healthy.path])
    sup = Supervisor(sqlite_store, [(GitConnector(config), config)])
    summary = await sup.sync()
    assert summary["git"].stored == 1 and summary["git"].errors == 0
    [warning] = sup.health.get("git").warnings
    assert "cannot be walked" in warning and str(broken.path) in warning
    # ...and so do `workbench connectors` and its JSON, read from the store.
    db = ["--db", str(tmp_path / "workbench.db")]   # the sqlite_store fixture's file
    assert main([*db, "connectors"]) == 0
    out = capsys.readouterr().out
    assert out.split("warnings (skipped by the last poll):\n")[1] == f"  git: {warning}\n"
    assert main([*db, "connectors", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["warnings"] == [warning]
    # ...and the TUI's health pane, in the last-error column (there is no error).
    [pane_row] = connector_rows(sqlite_store)
    shown = ConnectorRows().render_row(pane_row, 200).plain
    assert shown.endswith(f"  ! {warning}"), shown
