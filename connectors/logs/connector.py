"""The log-file connector: tail files and globs, one event per record.

Cursor: ``{"v": 1, "files": [...]}``, one :class:`~connectors.logs.files.FollowedFile`
per file (device, inode, generation, fingerprint, offset, path). It commits with
the batch (the runtime stores ``Batch.cursor`` in the ingest transaction), so after
a crash the next poll re-reads exactly the uncommitted records, and their dedup
keys (file identity @ offset) make any overlap harmless.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import orjson

from connectors.base import Batch
from connectors.errors import PoisonRecordError, TransientSourceError
from connectors.logs.config import LogsConfig
from connectors.logs.files import FollowedFile, reconcile
from connectors.logs.formats import logfmt_starts_record, plain_pattern
from connectors.logs.parse import (
    LogContext,
    RecordRef,
    decode_envelope,
    encode_envelope,
    parse_record,
)
from connectors.logs.reader import Limits, RawRecord, StartsRecord, read_new
from storage.models import NewDeadLetter, NewEvent
from storage.time_zones import token_pattern

CURSOR_VERSION = 1
log = logging.getLogger(__name__)


def load_cursor(cursor: str | None) -> tuple[list[FollowedFile], float] | None:
    """Followed files and the previous poll's time; ``None`` for none (or unreadable)."""
    if not cursor:
        return None
    try:
        data = orjson.loads(cursor)
        if data.get("v") != CURSOR_VERSION:
            return None
        return ([FollowedFile.from_json(item) for item in data["files"]],
                float(data.get("polled_at", 0.0)))
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return None


def dump_cursor(files: list[FollowedFile], polled_at: float) -> str:
    """The cursor string for ``files``, read at ``polled_at`` (epoch seconds)."""
    return orjson.dumps({"v": CURSOR_VERSION, "polled_at": polled_at,
                         "files": [f.to_json() for f in files]}).decode()


@dataclass(slots=True)
class _Collected:
    events: list[NewEvent] = field(default_factory=list)
    dead: list[NewDeadLetter] = field(default_factory=list)
    records: int = 0
    unmatched: int = 0
    caught_up: bool = True
    errors: list[str] = field(default_factory=list)


class LogsConnector:
    """Follow log files; parse JSON Lines, journald JSON, logfmt or regex-framed text."""

    kind: ClassVar[str] = "logs"

    def __init__(self, config: LogsConfig,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self._clock = clock
        """When records are read: syslog's missing year and the future check depend on it."""
        self.name = config.name
        self.context = _context(config)
        self._starts = _starts_record(config, self.context)

    async def poll(self, cursor: str | None) -> Batch:
        """Read what is new in every followed file (file I/O runs in a thread)."""
        return await asyncio.to_thread(self.poll_sync, cursor)

    def parse(self, raw: bytes) -> NewEvent:
        """Re-parse a dead letter's payload (an envelope: origin + record bytes)."""
        data, ref, truncated_from = decode_envelope(raw)
        if truncated_from is not None:
            raise PoisonRecordError(
                f"line of {truncated_from} bytes is over the {self.config.max_line_bytes}-byte "
                "limit; only its head was kept", payload=raw, error_class="LineTooLong")
        try:
            return parse_record(data, ref, self.context)
        except PoisonRecordError as exc:
            raise PoisonRecordError(str(exc), payload=raw, error_class=exc.error_class) from exc

    def poll_sync(self, cursor: str | None) -> Batch:
        """The blocking body of :meth:`poll`."""
        previous = load_cursor(cursor)
        start_at_end = previous is None and self.config.start_at == "end"
        polled_at = time.time()
        files = reconcile(previous[0] if previous else [], self.config.paths,
                          start_at_end=start_at_end, since=previous[1] if previous else None)
        observed = self._clock()
        out = _Collected()
        kept: list[FollowedFile] = []
        for entry in files:
            budget = self.config.max_batch_records - out.records
            if budget <= 0:
                out.caught_up = False
                kept.append(entry)
                continue
            kept += self._read(entry, budget, observed, out)
        if out.errors and not out.records:
            # Nothing else to commit: surface the failure (retried, shown in health).
            raise TransientSourceError("; ".join(out.errors)[:2000])
        return Batch(events=out.events, dead_letters=out.dead, cursor=dump_cursor(kept, polled_at),
                     caught_up=out.caught_up, received=out.records, unmatched=out.unmatched)

    def _read(self, entry: FollowedFile, budget: int, observed: datetime,
              out: _Collected) -> list[FollowedFile]:
        """Read one file into ``out``; return the entries to keep following."""
        quiet = self._quiet_for(entry)
        final = entry.rotated and quiet >= self.config.rotate_wait_seconds
        limits = Limits(
            budget=self.config.max_batch_bytes, max_records=budget,
            max_line=self.config.max_line_bytes, starts=self._starts, final=final,
            hold_last=self._starts is not None and quiet < self.config.multiline_flush_seconds,
        )
        try:
            result = read_new(entry, limits)
        except OSError as exc:  # unreadable file: the others keep flowing
            log.warning("cannot read %s: %s", entry.path, exc)
            out.errors.append(f"cannot read {entry.path}: {exc}")
            return [entry]
        for record in result.records:
            self._convert(record, entry, observed, out)
        out.records += len(result.records)
        out.caught_up = out.caught_up and result.caught_up
        keep = [] if (final and result.caught_up) else [entry]
        if result.copy is None:
            return keep
        # A copytruncate: the copy holds the tail we had not read yet, under the old identity.
        left = budget - len(result.records)
        if left <= 0:
            out.caught_up = False
            return [result.copy, *keep]
        return self._read(result.copy, left, observed, out) + keep

    @staticmethod
    def _quiet_for(entry: FollowedFile) -> float:
        try:
            return max(0.0, time.time() - os.stat(entry.path).st_mtime)
        except OSError:
            return float("inf")

    def _convert(self, record: RawRecord, entry: FollowedFile, observed: datetime,
                 out: _Collected) -> None:
        ref = RecordRef(entry.file_id, record.offset, entry.path, observed)
        if record.oversize is not None:
            out.dead.append(self._dead(
                encode_envelope(record.data, ref, truncated_from=record.oversize), ref,
                "LineTooLong",
                f"line of {record.oversize} bytes is over the {self.config.max_line_bytes}-byte "
                f"limit; kept its first {len(record.data)} bytes; sha256 {record.digest}"))
            return
        try:
            event = parse_record(record.data, ref, self.context)
        except PoisonRecordError as exc:
            out.unmatched += exc.error_class == "Unmatched"
            out.dead.append(self._dead(encode_envelope(record.data, ref), ref, exc.error_class,
                                       str(exc)))
            return
        out.unmatched += "unparsed" in event.attributes
        out.events.append(event)

    def _dead(self, payload: bytes, ref: RecordRef, error_class: str,
              message: str) -> NewDeadLetter:
        return NewDeadLetter(connector=self.name, payload=payload, error_class=error_class,
                             message=message[:8000],
                             source_ref=f"{ref.path}@{ref.offset} ({ref.file_id})"[:2000])


def _context(config: LogsConfig) -> LogContext:
    times = config.time_settings()
    if config.format == "regex" and config.pattern:
        pattern = config.pattern
    else:
        pattern = plain_pattern(times.time_format, token_pattern(times.abbreviations))
    return LogContext(
        format=config.format, time=times,
        pattern=re.compile(pattern) if config.format in ("regex", "plain") else None,
        service=config.service, environment=config.environment, host=config.host,
        tags=tuple((tag, re.compile(rx)) for tag, rx in config.tags.items()),
        future_tolerance=timedelta(seconds=config.future_tolerance_seconds),
        on_unmatched=config.on_unmatched,
    )


def _starts_record(config: LogsConfig, ctx: LogContext) -> StartsRecord | None:
    """How a text format recognises the first line of a record (``None``: every line)."""
    if not config.multiline or config.format in ("jsonl", "journald"):
        return None
    if config.format == "logfmt":
        return logfmt_starts_record
    assert ctx.pattern is not None
    rx = ctx.pattern
    return lambda line: rx.match(line.decode("utf-8", "replace")) is not None
