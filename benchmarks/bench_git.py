"""Git connector on a generated repository: commits/s and the ratio to ``git log`` alone.

The repository (``COMMITS`` commits over 400 files in 8 services, a merge of a side
branch every 50 commits, a tag every 1,000) is generated with ``git fast-import``.

Anchor (A): one ``git log`` over every ref with the connector's format, ``--numstat``
and first-parent diffs for merges — the git work alone, output read into memory.
Project (P): ``GitConnector.poll_sync`` until caught up (rev-list, git log per batch,
parsing, events). P+store: the same, each batch committed with ``storage.ingest``.
Interleaved, medians of ``--reps``.

    .venv/bin/python benchmarks/bench_git.py 100000 --reps 3
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.git import GitConfig, GitConnector  # noqa: E402
from connectors.git.gitcli import LOG_FORMAT  # noqa: E402
from connectors.git.parse import split_records  # noqa: E402
from storage import Store  # noqa: E402
from storage.ingest import ingest  # noqa: E402

SERVICES = ("api", "pay", "search", "auth", "cart", "ship", "mail", "web")
ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


def _blob(text: str) -> str:
    data = text.encode()
    return f"data {len(data)}\n{text}\n"


def fast_import_stream(commits: int, seed: int = 1) -> bytes:
    """A ``git fast-import`` stream: main, a 3-commit side branch merged every 50, tags."""
    rng = random.Random(seed)
    out: list[str] = []
    when = 1_700_000_000
    for n in range(1, commits + 1):
        when += rng.randint(10, 600)
        phase = n % 50
        branch = "refs/heads/side" if phase in (20, 21, 22) else "refs/heads/main"
        tz = rng.choice(("+0000", "+0200", "-0700", "+0530"))
        message = f"{rng.choice(SERVICES)}: change {n}\n\nDetails of change {n}.\n"
        out.append(f"commit {branch}\nmark :{n}\n"
                   f"author Dev {n % 17} <dev{n % 17}@example.org> {when} {tz}\n"
                   f"committer CI <ci@example.org> {when} +0000\n" + _blob(message))
        if phase == 20 and n > 1:
            out.append(f"from :{n - 1}\n")  # the side branch starts at main's tip
        if phase == 23:
            out.append(f"merge :{n - 1}\n")  # main merges the side branch
        for _ in range(rng.randint(1, 3)):
            path = f"services/{rng.choice(SERVICES)}/f{rng.randint(0, 49)}.py"
            out.append(f"M 100644 inline {path}\n" + _blob(f"v{n} {rng.random()}\n" * 3))
        out.append("\n")
        if n % 1000 == 0:
            out.append(f"tag v{n // 1000}\nfrom :{n}\ntagger CI <ci@example.org> {when} +0000\n"
                       + _blob(f"release {n // 1000}"))
    return "".join(out).encode()


def generate(path: Path, commits: int) -> None:
    """Create the repository at ``path``."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=ENV)
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], check=True, env=ENV,
                   input=fast_import_stream(commits))


def run_anchor(repo: Path) -> int:
    """``git log`` alone over every ref, the connector's format; returns commits seen."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--branches", "--tags", "-z", f"--format={LOG_FORMAT}",
         "--numstat", "--diff-merges=first-parent", "--no-renames"],
        check=True, capture_output=True, env=ENV).stdout
    return len(split_records(out))


def run_project(repo: Path, store: Store | None = None) -> int:
    """The connector until caught up (and, with ``store``, each batch ingested)."""
    connector = GitConnector(GitConfig(name="bench", repositories=[repo],
                                       services={s: [f"services/{s}/*"] for s in SERVICES}))
    cursor, total = None, 0
    while True:
        batch = connector.poll_sync(cursor)
        total += len(batch.events)
        if store is not None:
            with store.write() as session:
                ingest(session=session, events=batch.events, connector="bench",
                       cursor=batch.cursor)
        cursor = batch.cursor
        if batch.caught_up:
            return total


def measure(commits: int, reps: int, workdir: Path) -> dict[str, float]:
    """Interleaved runs; prints one JSON line per variant and the ratios."""
    repo = workdir / "repo"
    started = time.perf_counter()
    generate(repo, commits)
    built = time.perf_counter() - started
    expected = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "--all"],
                                  check=True, capture_output=True, env=ENV).stdout)
    times: dict[str, list[float]] = {"git log": [], "connector": [], "connector+store": []}
    for rep in range(reps):
        for role in times:
            store = Store.open(workdir / f"s{rep}.db") if role == "connector+store" else None
            started = time.perf_counter()
            count = run_anchor(repo) if role == "git log" else run_project(repo, store)
            times[role].append(time.perf_counter() - started)
            if store is not None:
                store.close()
            if count != expected:
                raise SystemExit(f"{role} saw {count} commits, expected {expected}")
    rates = {role: expected / statistics.median(t) for role, t in times.items()}
    for role, t in times.items():
        sys.stdout.write(orjson.dumps({
            "scenario": "git connector", "variant": f"{expected} commits",
            "role": "anchor" if role == "git log" else "project", "name": role,
            "value": round(rates[role]), "unit": "commits/s", "reps": [round(x, 3) for x in t],
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                        "git": subprocess.run(["git", "--version"], capture_output=True,
                                              text=True).stdout.strip()},
        }).decode() + "\n")
    sys.stdout.write(f"repository generated in {built:.1f}s; ratio connector/git log = "
                     f"{rates['connector'] / rates['git log']:.2f}, connector+store/git log = "
                     f"{rates['connector+store'] / rates['git log']:.2f}\n")
    return rates


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Command line: ``bench_git.py COMMITS [--reps N] [--dir D]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("commits", type=int, nargs="?", default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        return measure(args.commits, args.reps, args.dir)
    with tempfile.TemporaryDirectory() as tmp:
        return measure(args.commits, args.reps, Path(tmp))


if __name__ == "__main__":
    main()
