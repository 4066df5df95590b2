"""Running git: blocking subprocess calls (the connector runs them in a thread).

Every failure becomes a connector error: a missing binary, a path that is not a
repository and a refused ref are permanent (retrying will not fix the config);
anything else git reports (a lock, a transient I/O error, a crashed binary) is
transient; a call that outlives its deadline is a timeout.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from connectors.errors import PermanentSourceError, SourceTimeoutError, TransientSourceError

# Only what git needs: no pager, no prompts, no user config changing the output format.
_ENV_OVERRIDES = {
    "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1",
}
_STDERR_LIMIT = 500
NOT_A_REPOSITORY_EXIT = 128


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(_ENV_OVERRIDES)
    return env


def _invoke(binary: str, repo: Path, command: list[str], what: str, *,
            stdin: bytes | None, timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run ``command``; a missing or unusable binary and a timeout become connector errors."""
    try:
        return subprocess.run(command, input=stdin, capture_output=True, timeout=timeout,
                              env=_env(), check=False)
    except FileNotFoundError as exc:
        raise PermanentSourceError(f"git binary {binary!r} not found") from exc
    except PermissionError as exc:
        raise PermanentSourceError(f"git binary {binary!r} is not executable") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceTimeoutError(f"git {what} in {repo} took longer than {timeout:g}s") from exc


def _failed(done: subprocess.CompletedProcess[bytes], what: str,
            repo: Path) -> TransientSourceError:
    stderr = done.stderr.decode("utf-8", "replace").strip()[:_STDERR_LIMIT]
    return TransientSourceError(f"git {what} in {repo} exited with status {done.returncode}: "
                                f"{stderr or '(no output)'}")


def run_git(binary: str, repo: Path, args: Sequence[str], *, stdin: bytes | None = None,
            timeout: float = 60.0) -> bytes:
    """Run ``git -C repo args`` and return stdout; raise a connector error on failure."""
    command = [binary, "-C", str(repo), "-c", "core.quotepath=off", "-c", "log.showSignature=false",
               *args]
    done = _invoke(binary, repo, command, args[0], stdin=stdin, timeout=timeout)
    if done.returncode != 0:
        raise _failed(done, args[0], repo)
    return done.stdout


def check_repository(binary: str, repo: Path, *, timeout: float = 60.0) -> None:
    """Raise :class:`PermanentSourceError` unless ``repo`` is a readable git repository."""
    if not repo.is_dir():
        raise PermanentSourceError(f"{repo} is not a directory (expected a git repository)")
    command = [binary, "-C", str(repo), "rev-parse", "--git-dir"]
    done = _invoke(binary, repo, command, "rev-parse", stdin=None, timeout=timeout)
    if done.returncode == NOT_A_REPOSITORY_EXIT:
        raise PermanentSourceError(f"{repo} is not a git repository")
    if done.returncode != 0:
        raise _failed(done, "rev-parse", repo)


def ref_tips(binary: str, repo: Path, refs: Sequence[str], *, timeout: float) -> list[str]:
    """Commit shas at the tips of ``refs`` (every branch, tag and remote when empty)."""
    patterns = _ref_patterns(refs) or ["refs/heads", "refs/tags", "refs/remotes"]
    out = run_git(binary, repo, ["for-each-ref", "--format=%(objectname) %(*objectname)",
                                 *patterns], timeout=timeout)
    tips: dict[str, None] = {}
    for line in out.decode("ascii", "replace").splitlines():
        # An annotated tag's own object is not a commit: use the object it points at.
        parts = line.split()
        if parts:
            tips[parts[-1]] = None
    if refs and not tips:
        raise PermanentSourceError(f"none of the configured refs {list(refs)} exist in {repo}")
    return list(tips)


def _ref_patterns(refs: Sequence[str]) -> list[str]:
    """Short names (``main``, ``v1.*``) also match as branches and tags."""
    patterns: list[str] = []
    for ref in refs:
        if ref.startswith("refs/"):
            patterns.append(ref)
        else:
            patterns += [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    return patterns


def existing_commits(binary: str, repo: Path, shas: Sequence[str], *,
                     timeout: float) -> list[str]:
    """The subset of ``shas`` that still name commits in ``repo`` (gc may have removed some)."""
    if not shas:
        return []
    query = "".join(f"{sha}^{{commit}}\n" for sha in shas).encode()
    out = run_git(binary, repo, ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                  stdin=query, timeout=timeout)
    found = {line.split()[0] for line in out.decode("ascii", "replace").splitlines()
             if line.endswith(" commit")}
    return [sha for sha in shas if sha in found]


def new_commits(binary: str, repo: Path, tips: Sequence[str], done: Sequence[str], *,
                timeout: float) -> list[str]:
    """Commits reachable from ``tips`` but not from ``done``, parents before children."""
    if not tips:
        return []
    revs = "".join(f"{sha}\n" for sha in tips) + "".join(f"^{sha}\n" for sha in done)
    out = run_git(binary, repo, ["rev-list", "--reverse", "--topo-order", "--stdin"],
                  stdin=revs.encode(), timeout=timeout)
    return out.decode("ascii").split()


LOG_FORMAT = "C%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%D%x00%s%x00%b"
"""NUL-separated fields; a commit message cannot contain NUL, so no text breaks the framing."""


def commit_log(binary: str, repo: Path, shas: Sequence[str], *, timeout: float,
               numstat: bool = True) -> bytes:
    """``git log`` output (format :data:`LOG_FORMAT`, ``-z``) for exactly ``shas``.

    With ``numstat`` the changed paths follow each header; without it only the commit
    objects are read (what still works when a tree or blob is missing).
    """
    if not shas:
        return b""
    args = ["log", "--no-walk=unsorted", "--stdin", "-z", f"--format={LOG_FORMAT}",
            "--no-color"]
    if numstat:
        args += ["--numstat", "--diff-merges=first-parent", "--no-renames", "--no-ext-diff",
                 "--no-textconv"]
    return run_git(binary, repo, args, stdin="".join(f"{s}\n" for s in shas).encode(),
                   timeout=timeout)


def shallow_commits(binary: str, repo: Path, *, timeout: float) -> set[str]:
    """The shallow boundary of a ``git clone --depth`` clone (empty for a full one).

    A boundary commit's parents are absent, so git diffs it against nothing and every
    file looks added: its changed paths are unknown, not "everything".
    """
    where = run_git(binary, repo, ["rev-parse", "--git-path", "shallow"], timeout=timeout)
    path = Path(where.decode().strip())
    path = path if path.is_absolute() else repo / path
    try:
        return set(path.read_text(encoding="ascii").split())
    except FileNotFoundError:
        return set()


def missing_objects(binary: str, repo: Path, sha: str, *, timeout: float) -> bool:
    """Whether the commit, its tree or a blob in it is absent (deleted, or a partial
    clone's object that was never fetched). Never fetches: ``--missing=print`` lists
    absent objects with a ``?`` instead of asking the promisor remote."""
    command = [binary, "-C", str(repo), "rev-list", "--objects", "--missing=print", "-n", "1",
               sha]
    done = _invoke(binary, repo, command, "rev-list", stdin=None, timeout=timeout)
    if done.returncode != 0:
        return True     # the commit object itself cannot be read
    return any(line.startswith(b"?") for line in done.stdout.splitlines())
