"""Which files a logs connector follows, and how it recognises them across rotation.

A followed file is known by its device and inode (a rename keeps them) plus a
fingerprint of its first line (an inode reused by a new file, or a file truncated
and rewritten, no longer matches). Its *identity* — device, inode, generation and
fingerprint — goes into every record's dedup key, so reading the same bytes twice
stores them once, and a copytruncate (same inode, new content) starts a new
generation instead of colliding with the old keys.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import stat
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

FINGERPRINT_MAX = 256


@dataclass(slots=True)
class FollowedFile:
    """Cursor state of one file; mutable while a poll works on it."""

    path: str
    dev: int
    ino: int
    offset: int = 0
    fp: str = ""
    fp_len: int = 0
    gen: int = 0
    file_id: str = ""
    rotated: bool = False
    origin: str = ""
    """The path the file had when first found (rotated siblings share its name)."""

    def to_json(self) -> dict[str, Any]:
        """The cursor form."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FollowedFile:
        """Inverse of :meth:`to_json`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def establish(self, fp: str, fp_len: int) -> None:
        """Record the fingerprint once the first line is complete; fixes the identity."""
        self.fp, self.fp_len = fp, fp_len
        self.file_id = f"{self.dev:x}-{self.ino:x}-{self.gen}-{fp}"

    def restart(self) -> None:
        """The file was truncated or replaced: a new generation from offset 0."""
        self.gen += 1
        self.offset, self.fp, self.fp_len, self.file_id = 0, "", 0, ""


def fingerprint(handle: BinaryIO, size: int, *, final: bool = False) -> tuple[str, int] | None:
    """Hash of the first line (capped at 256 bytes); ``None`` while that is incomplete."""
    head = os.pread(handle.fileno(), min(size, FINGERPRINT_MAX), 0)
    newline = head.find(b"\n")
    if newline >= 0:
        head = head[:newline + 1]
    elif len(head) < FINGERPRINT_MAX and not (final and head):
        return None
    return hashlib.blake2b(head, digest_size=8).hexdigest(), len(head)


def matches_fingerprint(handle: BinaryIO, entry: FollowedFile) -> bool:
    """Whether the file still starts with the bytes ``entry`` was fingerprinted on."""
    if not entry.fp:
        return True
    head = os.pread(handle.fileno(), entry.fp_len, 0)
    return hashlib.blake2b(head, digest_size=8).hexdigest() == entry.fp


def discover(patterns: list[str]) -> dict[tuple[int, int], str]:
    """Regular files matching ``patterns`` now, by (device, inode); first path wins."""
    found: dict[tuple[int, int], str] = {}
    for pattern in patterns:
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        for path in paths:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cannot stat %s: %s", path, exc)
                continue
            if stat.S_ISREG(st.st_mode):
                found.setdefault((st.st_dev, st.st_ino), os.path.abspath(path))
    return found


def find_moved(entry: FollowedFile) -> str | None:
    """Where a rotated-away file went: a sibling with the same device and inode."""
    directory = os.path.dirname(entry.path) or "."
    try:
        with os.scandir(directory) as it:
            for item in it:
                if item.inode() == entry.ino and item.is_file(follow_symlinks=False) \
                        and item.stat(follow_symlinks=False).st_dev == entry.dev:
                    return item.path
    except OSError:
        return None
    return None


def find_copy(entry: FollowedFile) -> str | None:
    """After a copytruncate: the sibling copy that starts with ``entry``'s fingerprint."""
    if not entry.fp:
        return None
    directory = os.path.dirname(entry.path) or "."
    try:
        items = list(os.scandir(directory))
    except OSError:
        return None
    for item in items:
        if item.inode() == entry.ino or not item.is_file(follow_symlinks=False):
            continue
        try:
            if item.stat().st_size < entry.offset:
                continue
            with open(item.path, "rb") as handle:
                if matches_fingerprint(handle, entry):
                    return item.path
        except OSError:
            continue
    return None


_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip")


def missed_rotations(origins: set[str], known: set[tuple[int, int]],
                     since: float) -> list[FollowedFile]:
    """Files rotated while nobody was watching.

    If the process was down across two rotations, the middle file was created and
    rotated away unseen: it matches no glob now. It is a sibling named like the
    original (``app.log.1``, ``app.log-20261128``), not compressed, not followed,
    and written after ``since`` (the previous poll).
    """
    missed: list[FollowedFile] = []
    for origin in sorted(origins):
        directory, base = os.path.split(origin)
        try:
            items = list(os.scandir(directory or "."))
        except OSError:
            continue
        for item in items:
            if not item.name.startswith(base) or item.path == origin \
                    or item.name.endswith(_COMPRESSED) or not item.is_file(follow_symlinks=False):
                continue
            st = item.stat(follow_symlinks=False)
            if (st.st_dev, st.st_ino) not in known and st.st_mtime > since:
                known.add((st.st_dev, st.st_ino))
                missed.append(FollowedFile(path=item.path, dev=st.st_dev, ino=st.st_ino,
                                           rotated=True, origin=origin))
    return missed


def reconcile(followed: list[FollowedFile], patterns: list[str], *,
              start_at_end: bool, since: float | None = None) -> list[FollowedFile]:
    """Match the cursor's files with what is on disk now; rotated-away files come first."""
    found = discover(patterns)
    known = set(found) | {(e.dev, e.ino) for e in followed}
    rotated: list[FollowedFile] = []
    current: list[FollowedFile] = []
    moved_from: set[str] = set()
    for entry in followed:
        entry.origin = entry.origin or entry.path
        key = (entry.dev, entry.ino)
        if key in found:
            entry.path, entry.rotated = found.pop(key), False
            current.append(entry)
            continue
        moved_from.add(entry.origin)
        moved = find_moved(entry)
        if moved is None:
            log.warning("%s (%s) is gone; stopped following it at offset %d",
                        entry.path, entry.file_id or "no identity yet", entry.offset)
            continue
        entry.path, entry.rotated = moved, True
        rotated.append(entry)
    if since is not None and moved_from:
        rotated += missed_rotations(moved_from, known, since)
    for (dev, ino), path in found.items():
        offset = os.stat(path).st_size if start_at_end else 0
        current.append(FollowedFile(path=path, dev=dev, ino=ino, offset=offset, origin=path))
    current.sort(key=lambda e: e.path)
    return rotated + current
