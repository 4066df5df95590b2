"""Reading new records from one followed file (blocking I/O; pure framing).

Only complete lines are consumed: a partial last line stays for the next poll
(unless the file was rotated away and has gone quiet, when it is final). A line
longer than ``max_line`` is streamed past, not loaded: its record keeps the head,
the full length and a SHA-256. Text formats join continuation lines (stack traces)
to the line that started the record; the last record is held back while the file
is fresh, or when the read stopped at the budget, since more of it may follow.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

from connectors.logs.files import FollowedFile, find_copy, fingerprint, matches_fingerprint

OVERSIZE_HEAD = 64 * 1024
_BLOCK = 1024 * 1024

StartsRecord = Callable[[bytes], bool]


class RawRecord(NamedTuple):
    """Bytes of one record at ``offset``; ``oversize`` is the real length if truncated."""

    offset: int
    data: bytes
    oversize: int | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one read may take, and how records are framed."""

    budget: int
    max_records: int
    max_line: int
    starts: StartsRecord | None = None
    hold_last: bool = False
    final: bool = False


@dataclass(slots=True)
class ReadResult:
    """Records read and whether the file has nothing more for now."""

    records: list[RawRecord] = field(default_factory=list)
    caught_up: bool = True
    copy: FollowedFile | None = None


def read_new(entry: FollowedFile, limits: Limits) -> ReadResult:
    """Read ``entry`` from its offset; advance the offset past what was returned."""
    try:
        handle = open(entry.path, "rb")  # noqa: SIM115 - closed below, after fstat checks
    except FileNotFoundError:
        return ReadResult()
    with handle:
        st = os.fstat(handle.fileno())
        if (st.st_dev, st.st_ino) != (entry.dev, entry.ino):
            return ReadResult(caught_up=False)  # replaced between discovery and open
        copy = None
        if st.st_size < entry.offset or not matches_fingerprint(handle, entry):
            copy = _copy_of(entry)
            entry.restart()
        if not entry.file_id:
            fp = fingerprint(handle, st.st_size, final=limits.final)
            if fp is None:
                return ReadResult(copy=copy)
            entry.establish(*fp)
        result = _read_from(handle, entry, st.st_size, limits)
        result.copy = copy
        return result


def _copy_of(entry: FollowedFile) -> FollowedFile | None:
    """A copytruncate left the unread tail in a copy: follow the copy under the old identity."""
    path = find_copy(entry)
    if path is None:
        return None
    st = os.stat(path)
    return FollowedFile(path=path, dev=st.st_dev, ino=st.st_ino, offset=entry.offset, fp=entry.fp,
                        fp_len=entry.fp_len, gen=entry.gen, file_id=entry.file_id, rotated=True)


def _read_from(handle: BinaryIO, entry: FollowedFile, size: int, limits: Limits) -> ReadResult:
    fd = handle.fileno()
    want = min(limits.budget, size - entry.offset)
    data = os.pread(fd, want, entry.offset) if want > 0 else b""
    at_eof = entry.offset + len(data) >= size
    end = data.rfind(b"\n") + 1
    if end == 0:
        return _no_newline(fd, entry, data, at_eof, limits)
    tail = data[end:] if (limits.final and at_eof) else b""
    records, consumed = frame(data[:end], entry.offset, limits, more=not at_eof)
    if tail and consumed == end and len(records) < limits.max_records:
        records.append(_record(entry.offset + end, tail, limits.max_line))
        consumed += len(tail)
    entry.offset += consumed
    # A record held back for continuation lines is "caught up": nothing more to read now.
    held = limits.hold_last and len(records) < limits.max_records
    return ReadResult(records, caught_up=at_eof and (consumed >= end or held))


def _no_newline(fd: int, entry: FollowedFile, data: bytes, at_eof: bool,
                limits: Limits) -> ReadResult:
    """No complete line: a huge line is skipped past, a final fragment is emitted."""
    if len(data) > limits.max_line:
        skipped = _skip_long_line(fd, entry.offset, final=limits.final)
        if skipped is None:
            return ReadResult()
        record, length = skipped
        entry.offset += length
        return ReadResult([record], caught_up=False)
    if limits.final and at_eof and data:
        entry.offset += len(data)
        return ReadResult([_record(entry.offset - len(data), data, limits.max_line)])
    return ReadResult()


def _skip_long_line(fd: int, start: int, *, final: bool) -> tuple[RawRecord, int] | None:
    """Stream past one over-long line; ``None`` if it is not complete yet."""
    digest, head, position, newline = hashlib.sha256(), b"", start, -1
    while True:
        block = os.pread(fd, _BLOCK, position)
        if not block:
            if not final:
                return None
            break
        newline = block.find(b"\n")
        chunk = block if newline < 0 else block[:newline]
        digest.update(chunk)
        head = head or chunk[:OVERSIZE_HEAD]
        position += len(chunk)
        if newline >= 0:
            break
    length = position - start
    record = RawRecord(start, head[:OVERSIZE_HEAD], oversize=length, digest=digest.hexdigest())
    return record, length + (1 if newline >= 0 else 0)


def _record(offset: int, line: bytes, max_line: int) -> RawRecord:
    if len(line) <= max_line:
        return RawRecord(offset, line)
    return RawRecord(offset, line[:OVERSIZE_HEAD], oversize=len(line),
                     digest=hashlib.sha256(line).hexdigest())


def frame(data: bytes, base: int, limits: Limits, *, more: bool) -> tuple[list[RawRecord], int]:
    """Records in ``data`` (complete lines) and how many bytes they consumed."""
    if limits.starts is None:
        return _one_per_line(data, base, limits)
    return _multiline(data, base, limits, more=more)


def _one_per_line(data: bytes, base: int, limits: Limits) -> tuple[list[RawRecord], int]:
    records: list[RawRecord] = []
    position, max_line, cap = 0, limits.max_line, limits.max_records
    for line in data.split(b"\n")[:-1]:
        if len(records) >= cap:
            break
        if line and not line.isspace():
            if len(line) <= max_line:
                records.append(RawRecord(base + position, line))
            else:
                records.append(_record(base + position, line, max_line))
        position += len(line) + 1
    return records, position


def _multiline(data: bytes, base: int, limits: Limits, *,
               more: bool) -> tuple[list[RawRecord], int]:
    """Group continuation lines under the line that starts each record."""
    assert limits.starts is not None
    groups: list[tuple[int, int]] = []  # (start, end) byte ranges within data
    position = 0
    for line in data.split(b"\n")[:-1]:
        end = position + len(line) + 1
        starts = bool(line.strip()) and limits.starts(line)
        if not groups or starts or len(line) > limits.max_line:
            groups.append((position, end))
        else:
            groups[-1] = (groups[-1][0], end)
        position = end
    if len(groups) > limits.max_records:
        groups = groups[:limits.max_records]
    elif groups and not limits.final and (limits.hold_last or (more and len(groups) > 1)):
        groups.pop()  # may still get continuation lines
    records = [_record(base + s, data[s:e].rstrip(b"\n"), limits.max_line) for s, e in groups
               if data[s:e].strip()]
    return records, (groups[-1][1] if groups else 0)
