"""The log connector on real files: partial lines, rotation, copytruncate, long lines."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from pathlib import Path

import orjson
import pytest

from connectors.base import Batch
from connectors.errors import PoisonRecordError
from connectors.logs import LogsConfig, LogsConnector
from storage import Store
from storage.dead_letters import list_dead_letters
from storage.events import count_events
from tests.connectors.gitlogs_helpers import drain, store_batches


def connector(*paths: Path | str, **extra: object) -> LogsConnector:
    settings: dict[str, object] = {"rotate_wait_seconds": 0, "multiline_flush_seconds": 0}
    settings.update(extra)
    return LogsConnector(LogsConfig(name="logs", paths=[str(p) for p in paths],
                                    **settings))


def line(n: int, **extra: object) -> bytes:
    return orjson.dumps({"ts": "2026-11-28T10:00:00Z", "level": "info", "msg": f"line {n}",
                         "n": n, **extra}) + b"\n"


def numbers(batches: list[Batch]) -> list[int]:
    return [e.attributes["fields"]["n"] for b in batches for e in b.events]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    batches, cursor = drain(connector(tmp_path / "*.log", tmp_path / "missing.log"))
    assert batches[0].events == [] and batches[0].dead_letters == []
    assert orjson.loads(cursor or "{}")["files"][0]["offset"] == 0


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line(1) + line(2)[:10])
    c = connector(log)
    first, cursor = drain(c)
    assert numbers(first) == [1]
    append(log, line(2)[10:] + line(3))
    second, _ = drain(c, cursor)
    assert numbers(second) == [2, 3]


def test_dedup_key_is_file_identity_and_offset(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line(1) + line(2))
    events = [e for b in drain(connector(log))[0] for e in b.events]
    st = os.stat(log)
    assert [e.effective_dedup_key().split("@")[1] for e in events] == ["0", str(len(line(1)))]
    assert events[0].effective_dedup_key().startswith(f"{st.st_dev:x}-{st.st_ino:x}-0-")


def test_rename_and_create_rotation(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line(1) + line(2))
    c = connector(log)
    batches, cursor = drain(c)
    keys = [e.effective_dedup_key() for b in batches for e in b.events]
    append(log, line(3) + line(4))  # written after our poll, before rotation
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(line(5))
    rotated, cursor = drain(c, cursor)
    assert sorted(numbers(rotated)) == [3, 4, 5]
    # Same identity for the renamed file: its keys continue the old ones.
    assert rotated[0].events[0].effective_dedup_key().split("@")[0] == keys[0].split("@")[0]
    assert len(orjson.loads(cursor or "{}")["files"]) == 1  # the drained rotated file is dropped
    append(log, line(6))
    later, _ = drain(c, cursor)
    assert numbers(later) == [6]
    results = store_batches(store, "logs", batches + rotated + later + rotated)
    assert sum(r.stored for r in results) == 6  # replaying a batch stores nothing new


def test_rotated_file_keeps_draining_until_quiet(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line(1))
    c = connector(log, rotate_wait_seconds=3600)
    _, cursor = drain(c)
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(line(3))
    append(tmp_path / "app.log.1", line(2) + b'{"msg": "unterminated')
    batches, cursor = drain(c, cursor)
    assert sorted(numbers(batches)) == [2, 3]
    assert len(orjson.loads(cursor or "{}")["files"]) == 2  # still watching the rotated file
    append(tmp_path / "app.log.1", b'", "n": 4}\n')
    assert numbers(drain(c, cursor)[0]) == [4]


def test_copytruncate(tmp_path: Path, sqlite_store: Store) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line(1) + line(2))
    c = connector(log)
    batches, cursor = drain(c)
    append(log, line(3) + line(4))  # not yet read when logrotate copies and truncates
    shutil.copyfile(log, tmp_path / "app.log.1")
    with open(log, "r+b") as handle:
        handle.truncate(0)
    append(log, line(5))
    after, cursor = drain(c, cursor)
    assert sorted(numbers(after)) == [3, 4, 5]
    append(log, line(6))
    later, _ = drain(c, cursor)
    assert numbers(later) == [6]
    results = store_batches(sqlite_store, "logs", batches + after + later)
    assert sum(r.stored for r in results) == 6


def test_replaced_file_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line(1) + line(2) + line(3))
    c = connector(log)
    _, cursor = drain(c)
    log.unlink()
    log.write_bytes(line(10))
    assert numbers(drain(c, cursor)[0]) == [10]


def test_ten_megabyte_line_goes_to_the_dlq_and_the_rest_flows(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    huge = b'{"msg": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    log.write_bytes(line(1) + huge + b"\n" + line(2))
    batches, _ = drain(connector(log))
    assert numbers(batches) == [1, 2]
    (dead,) = [d for b in batches for d in b.dead_letters]
    assert dead.error_class == "LineTooLong" and len(dead.payload) < 70_000
    assert hashlib.sha256(huge).hexdigest() in dead.message and str(len(huge)) in dead.message
    assert dead.source_ref is not None and f"@{len(line(1))}" in dead.source_ref


def test_bad_records_each_get_one_dlq_entry(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "app.log"
    bad = [b'{"msg": "trunc', b"\xff\xfe not utf8", b'{"a":' * 1000 + b"1" + b"}" * 1000,
           b'{"ts": "3000-01-01T00:00:00Z", "msg": "future"}', b'{"ts": false, "msg": "x"}']
    log.write_bytes(b"".join(line(i) + b + b"\n" for i, b in enumerate(bad)) + line(99))
    c = connector(log)
    batches, _ = drain(c)
    assert numbers(batches) == [0, 1, 2, 3, 4, 99]
    classes = [d.error_class for b in batches for d in b.dead_letters]
    assert classes == ["InvalidJSON", "InvalidJSON", "TooDeep", "FutureTimestamp",
                       "BadTimestamp"]
    store_batches(store, "logs", batches)
    with store.read() as session:
        letters = list_dead_letters(session=session, connector="logs").items
        assert sum(count_events(session=session, by="source").values()) == 6
    assert len(letters) == 5
    # Replay re-parses the stored payload: a later config that accepts the record
    # rebuilds the event with the same dedup key (file identity @ offset).
    future = next(d for d in letters if d.error_class == "FutureTimestamp")
    tolerant = connector(log, future_tolerance_seconds=10**11)
    event = tolerant.parse(future.payload)
    offset = (future.source_ref or "").split("@")[1].split()[0]
    assert event.title == "future" and event.effective_dedup_key().endswith(f"@{offset}")
    with pytest.raises(PoisonRecordError, match="invalid JSON"):
        c.parse(next(d for d in letters if d.error_class == "InvalidJSON").payload)


PY_TRACE = b"""2026-11-28 10:00:01 ERROR request failed
Traceback (most recent call last):
  File "app.py", line 10, in handler
    pay()
ZeroDivisionError: division by zero
"""
JAVA_TRACE = b"""2026-11-28 10:00:02 ERROR unhandled
java.lang.NullPointerException: null
\tat com.acme.Pay.run(Pay.java:42)
\tat java.base/java.lang.Thread.run(Thread.java:833)
Caused by: java.io.IOException: reset
\t... 3 more
"""
GO_PANIC = b"""2026-11-28 10:00:03 FATAL worker crashed
panic: runtime error: invalid memory address or nil pointer dereference

goroutine 1 [running]:
main.main()
\t/src/main.go:12 +0x1d
"""


def test_multiline_stack_traces_are_one_event(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"2026-11-28 10:00:00 INFO start\n" + PY_TRACE + JAVA_TRACE + GO_PANIC
                    + b"2026-11-28 10:00:04 INFO next\n")
    batches, _ = drain(connector(log, format="plain"))
    events = [e for b in batches for e in b.events]
    assert [e.title for e in events] == ["start", "request failed", "unhandled",
                                         "worker crashed", "next"]
    py, java, go = events[1:4]
    assert py.attributes["error_type"] == "ZeroDivisionError" and "pay()" in py.body
    assert java.attributes["error_type"] == "java.lang.NullPointerException"
    assert "Caused by" in java.body and "stacktrace" in java.tags
    assert go.severity.value == "critical" and "panic" in go.tags and "main.go:12" in go.body


def test_fresh_last_record_waits_for_its_continuation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(PY_TRACE[:60])  # the traceback is still being written
    c = connector(log, format="plain", multiline_flush_seconds=3600)
    batches, cursor = drain(c)
    assert batches[0].events == []
    append(log, PY_TRACE[60:] + b"2026-11-28 10:00:09 INFO after\n")
    events = [e for b in drain(c, cursor)[0] for e in b.events]
    assert [e.title for e in events] == ["request failed"]  # "after" is fresh: held back
    assert "ZeroDivisionError" in events[0].body


def test_start_at_end_skips_history_only_on_first_poll(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line(1))
    c = connector(log, start_at="end")
    first, cursor = drain(c)
    assert numbers(first) == []
    append(log, line(2))
    assert numbers(drain(c, cursor)[0]) == [2]


def test_growing_file_with_random_write_boundaries(tmp_path: Path, sqlite_store: Store) -> None:
    """Writes split lines anywhere; small batches; rotations mixed in: each line exactly once."""
    rng = random.Random(7)
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    c = connector(tmp_path / "app.log", max_batch_records=7, max_line_bytes=1024,
                  max_batch_bytes=4096)
    cursor, seen, pending, n = None, [], b"", 0
    for step in range(120):
        while len(pending) < 600:
            n += 1
            pending += line(n, pad="p" * rng.randint(0, 80))
        cut = rng.randint(1, 500)
        append(log, pending[:cut])
        pending = pending[cut:]
        if step % 40 == 39:  # a writer finishes its line, then the file is rotated
            newline = pending.index(b"\n") + 1
            append(log, pending[:newline])
            pending = pending[newline:]
            log.rename(tmp_path / f"app.log.{step}")
            log.write_bytes(b"")
        batch = c.poll_sync(cursor)
        store_batches(sqlite_store, "logs", [batch])
        cursor = batch.cursor
        seen += numbers([batch])
    append(log, pending)
    final, _ = drain(c, cursor)
    seen += numbers(final)
    assert seen == list(range(1, n + 1))


def test_two_rotations_while_not_running(tmp_path: Path) -> None:
    """The middle file was created and rotated away unseen: it is still read, once."""
    log = tmp_path / "app.log"
    log.write_bytes(line(1))
    c = connector(log)
    _, cursor = drain(c)
    append(log, line(2))
    log.rename(tmp_path / "app.log.2")
    log.write_bytes(line(3))
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(line(4))
    (tmp_path / "app.log.3.gz").write_bytes(b"\x1f\x8b compressed, never read")
    batches, cursor = drain(c, cursor)
    assert sorted(numbers(batches)) == [2, 3, 4]
    assert [d for b in batches for d in b.dead_letters] == []
    append(log, line(5))
    assert numbers(drain(c, cursor)[0]) == [5]


def test_an_unreadable_file_does_not_stop_the_others(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Policy (root can read anything, so the failure is injected): skip, report, go on."""
    import connectors.logs.connector as module
    from connectors.errors import TransientSourceError

    (tmp_path / "a.log").write_bytes(line(1))
    (tmp_path / "b.log").write_bytes(line(2))
    from connectors.logs.reader import read_new as real

    def refuse_b(entry: object, limits: object) -> object:
        if str(getattr(entry, "path", "")).endswith("b.log"):
            raise PermissionError(13, "Permission denied")
        return real(entry, limits)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "read_new", refuse_b)
    c = connector(tmp_path / "*.log")
    batch = c.poll_sync(None)
    assert numbers([batch]) == [1]
    assert len(orjson.loads(batch.cursor or "{}")["files"]) == 2  # b.log is still followed
    with pytest.raises(TransientSourceError, match="cannot read .*b.log"):
        c.poll_sync(batch.cursor)  # nothing else to commit: the error surfaces
    monkeypatch.setattr(module, "read_new", real)
    assert numbers([c.poll_sync(batch.cursor)]) == [2]
