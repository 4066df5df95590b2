"""Pure parsing of ``git log -z`` output (format :data:`connectors.git.gitcli.LOG_FORMAT`).

The output is a stream of NUL-separated tokens. A commit is the fixed header
fields (the message cannot contain NUL, so no commit text can shift the framing)
followed by ``--numstat`` entries (``added\\tdeleted\\tpath``; git prefixes the first
with a newline). The splitter walks that structure; :func:`parse_commit` turns one
record into an event and is what DLQ replay re-runs on a stored record.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.errors import PoisonRecordError
from storage.models import MAX_BODY, MAX_TITLE, EventKind, NewEvent, Severity, Source

HEADER_FIELDS = 11
_SHA = re.compile(rb"C([0-9a-f]{40}|[0-9a-f]{64})\Z")
_NUMSTAT = re.compile(rb"\n?(\d+|-)\t(\d+|-)\t")
RECORD_MAGIC = b"wbgit1\0"


def split_records(output: bytes) -> list[list[bytes]]:
    """Split ``git log -z`` output into one token list per commit."""
    tokens = output.split(b"\0")
    records: list[list[bytes]] = []
    i, n = 0, len(tokens)
    while i < n:
        if not tokens[i]:
            i += 1
            continue
        end = min(i + HEADER_FIELDS, n)
        record = tokens[i:end]
        i = end
        while i < n and _NUMSTAT.match(tokens[i]):
            # ``a\td\t`` with an empty path is a rename: old and new path follow.
            width = 3 if tokens[i].endswith(b"\t") else 1
            record += tokens[i:i + width]
            i += width
        records.append(record)
    return records


def encode_record(repository: str, record: Sequence[bytes]) -> bytes:
    """The raw payload of one commit (repository + tokens), as stored in the DLQ."""
    return RECORD_MAGIC + repository.encode() + b"\0" + b"\0".join(record)


def decode_record(raw: bytes) -> tuple[str, list[bytes]]:
    """Inverse of :func:`encode_record`."""
    if not raw.startswith(RECORD_MAGIC):
        raise PoisonRecordError("not a git connector record", payload=raw)
    repository, _, rest = raw[len(RECORD_MAGIC):].partition(b"\0")
    return repository.decode("utf-8", "replace"), rest.split(b"\0")


@dataclass(frozen=True, slots=True)
class ServiceRules:
    """Service name -> compiled path globs; the first listed wins a tie."""

    names: tuple[str, ...] = ()
    rules: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_globs(cls, services: Mapping[str, Sequence[str]]) -> ServiceRules:
        """Compile ``{service: [glob, ...]}`` (``*`` also crosses ``/``)."""
        names = tuple(name for name, globs in services.items() if globs)
        rules = tuple(re.compile("|".join(fnmatch.translate(g) for g in services[name]))
                      for name in names)
        return cls(names, rules)

    def services_for(self, paths: Sequence[str]) -> list[str]:
        """Matching services, most matched paths first (ties keep config order)."""
        if not self.rules:
            return []
        counts = [0] * len(self.rules)
        for path in paths:
            for i, rx in enumerate(self.rules):
                if rx.match(path):
                    counts[i] += 1
        order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))
        return [self.names[i] for i in order if counts[i]]


@dataclass(frozen=True, slots=True)
class CommitContext:
    """What the parser needs besides the record: the repository and the config rules."""

    repository: str
    services: ServiceRules = ServiceRules()
    environment: str | None = None
    max_paths: int = 500


def _text(token: bytes) -> str:
    return token.decode("utf-8", "replace")


def _date(token: bytes, what: str, raw: bytes) -> datetime:
    try:
        value = datetime.fromisoformat(token.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PoisonRecordError(f"commit has an unreadable {what} date {token[:40]!r}",
                                payload=raw) from exc
    if value.tzinfo is None:
        raise PoisonRecordError(f"commit {what} date has no zone", payload=raw)
    return value


def _person(name: bytes, email: bytes, iso: bytes) -> dict[str, str]:
    # git's strict ISO date ends with the zone as written by the author: +05:30
    return {"name": _text(name), "email": _text(email), "date": iso.decode("ascii"),
            "tz": iso[-6:].decode("ascii") if iso[-6:-5] in (b"+", b"-") else "+00:00"}


def _numstat(tokens: Sequence[bytes]) -> list[tuple[str, int | None, int | None]]:
    """``(path, added, deleted)``; ``None`` counts mean a binary file."""
    files: list[tuple[str, int | None, int | None]] = []
    i = 0
    while i < len(tokens):
        added, deleted, path = tokens[i].lstrip(b"\n").split(b"\t", 2)
        if not path and i + 2 < len(tokens):  # rename: old, new
            path = tokens[i + 2]
            i += 2
        i += 1
        files.append((_text(path), None if added == b"-" else int(added),
                      None if deleted == b"-" else int(deleted)))
    return files


def _refs(decoration: str) -> tuple[list[str], list[str]]:
    refs, tags = [], []
    for item in filter(None, (d.strip() for d in decoration.split(","))):
        if item.startswith("tag: "):
            tags.append(item[5:])
        else:
            refs.append(item.removeprefix("HEAD -> "))
    return refs, tags


def parse_commit(record: Sequence[bytes], ctx: CommitContext, *,
                 paths_unknown: str | None = None) -> NewEvent:
    """One commit record -> a ``git``/``commit`` event (dedup key: the sha).

    ``paths_unknown`` says why a record has no changed paths although the commit has
    some (a shallow boundary, missing objects): ``attributes["paths_unknown"]``.
    """
    raw = encode_record(ctx.repository, record)
    if len(record) < HEADER_FIELDS or not _SHA.match(record[0]):
        raise PoisonRecordError("malformed git log record", payload=raw)
    sha = record[0][1:].decode("ascii")
    parents = record[1].decode("ascii", "replace").split()
    _date(record[4], "author", raw)  # validated: a bad author date is a poison record
    committed = _date(record[7], "committer", raw)
    try:
        files = _numstat(record[HEADER_FIELDS:])
    except ValueError as exc:
        raise PoisonRecordError(f"commit {sha}: unreadable numstat", payload=raw) from exc
    refs, tags = _refs(_text(record[8]))
    paths = [f[0] for f in files]
    services = ctx.services.services_for(paths)
    attributes: dict[str, Any] = {
        "repository": ctx.repository,
        "parents": parents,
        "merge": len(parents) > 1,
        "author": _person(record[2], record[3], record[4]),
        "committer": _person(record[5], record[6], record[7]),
        "refs": refs,
        "git_tags": tags,
        "files": [{"path": p, "added": a, "deleted": d} for p, a, d in files[:ctx.max_paths]],
        "files_changed": len(files),
        "files_truncated": len(files) > ctx.max_paths,
        "lines_added": sum(a or 0 for _, a, _ in files),
        "lines_deleted": sum(d or 0 for _, _, d in files),
        "services": services,
    }
    if paths_unknown:
        attributes["paths_unknown"] = paths_unknown
    subject = _text(record[9]).strip()
    return NewEvent(
        source=Source.GIT, kind=EventKind.COMMIT, severity=Severity.INFO,
        occurred_at=committed, title=(subject or "(no subject)")[:MAX_TITLE],
        body=_text(record[10])[:MAX_BODY], service=services[0] if services else None,
        environment=ctx.environment, commit_sha=sha, dedup_key=sha, attributes=attributes,
        tags=("merge",) if len(parents) > 1 else (),
    )
