"""Per-source clock offsets and skew detection, on real files through the real supervisor.

- ``clock_offset_seconds`` corrects every time a log connector reads, in polling and in
  DLQ replay alike; the original stamp stays in the attributes; changing the offset
  never stores a line twice (the dedup key is the uncorrected event's).
- Health warns about a source whose events are stamped after they arrive (a clock
  ahead) or arrive consistently late, says which offset corrects it, and stays quiet
  for a right clock and for a backlog read at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from connectors import registry
from connectors.base import Connector, ConnectorConfig
from connectors.clock import OFFSET, ORIGINAL, corrected
from connectors.dlq import Parsers, replay
from connectors.health import SKEW_WARN, HealthRegistry, clock_warning
from connectors.supervisor import Supervisor
from storage import EventKind, NewEvent, Source, Store
from storage.dead_letters import list_dead_letters
from storage.models import DeadLetter, IngestResult
from storage.queries import EventQuery
from storage.times import TimeRangeError, shifted, skew_of

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _log(path: Path, n: int, *, start: datetime = T0, bad: int | None = None) -> None:
    lines = []
    for i in range(n):
        if i == bad:
            lines.append(b'{"ts": "2026-11-28T10:00:00Z", "level": "info", "msg": "cut')
            continue
        stamp = (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        lines.append(orjson.dumps({"ts": stamp, "level": "info", "msg": f"line {i}"}))
    path.write_bytes(b"\n".join(lines) + b"\n")


def _connector(path: Path, offset: float) -> tuple[Connector, ConnectorConfig]:
    config = registry.validate({"name": "app", "kind": "logs", "paths": [str(path)],
                                "clock_offset_seconds": offset, "rotate_wait_seconds": 0,
                                "multiline_flush_seconds": 0})
    return registry.build(config), config


async def test_offset_corrects_times_keeps_the_original_and_never_duplicates(
        store: Store, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    _log(log, 10)
    connector, config = _connector(log, 90)
    await Supervisor(store, [(connector, config)], persist_health=False).sync()
    events = store.list_events(EventQuery(order="asc", limit=50)).items
    assert [e.occurred_at for e in events] == [T0 + timedelta(seconds=i + 90) for i in range(10)]
    assert events[0].attributes[ORIGINAL] == T0.isoformat()
    assert events[0].attributes[OFFSET] == 90.0
    # The same file read again with another offset (a fresh cursor): nothing new stored.
    other = Store.open(tmp_path / "again.db")
    try:
        other.ingest(await _read_all(log, 0))
        again = [e.dedup_key for e in other.list_events(EventQuery(limit=50)).items]
    finally:
        other.close()
    assert sorted(again) == sorted(e.dedup_key for e in events)


async def _read_all(path: Path, offset: float) -> list[NewEvent]:
    connector, _ = _connector(path, offset)
    return list((await connector.poll(None)).events)


async def test_replay_applies_the_offset_too(sqlite_store: Store, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    _log(log, 5, bad=2)
    connector, config = _connector(log, -30)
    await Supervisor(sqlite_store, [(connector, config)], persist_health=False).sync()
    letter = list_dead_letters_of(sqlite_store)[0]
    # Replay re-parses the stored payload with the connector's parser, corrected too:
    # the same record mended (as a parser fix would read it) lands 30 s earlier.
    parse = Parsers.of([connector]).for_letter(letter)
    fixed = parse(letter.payload.replace(b'"msg": "cut', b'"msg": "line 2"}'))
    assert fixed.occurred_at == T0 - timedelta(seconds=30)
    assert fixed.attributes[ORIGINAL] == T0.isoformat()
    outcome = replay(sqlite_store, letter.id, parsers=Parsers.of([connector]))
    assert outcome.status.value == "failed"  # still the cut line: never stored unshifted


def list_dead_letters_of(store: Store) -> list[DeadLetter]:
    with store.read() as session:
        return list(list_dead_letters(session=session).items)


def test_an_offset_past_the_calendar_is_a_per_record_error() -> None:
    event = NewEvent(source=Source.LOGS, kind=EventKind.LOG, title="end of time",
                     occurred_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(TimeRangeError):
        corrected(event, timedelta(hours=1))
    with pytest.raises(TimeRangeError):
        shifted(datetime(1, 1, 1, tzinfo=UTC), timedelta(hours=-1))


def test_config_refuses_an_offset_of_weeks() -> None:
    with pytest.raises(ValueError, match="clock_offset_seconds"):
        registry.validate({"name": "x", "kind": "logs", "paths": ["/x"],
                           "clock_offset_seconds": 8 * 86400})


def _health(times: list[datetime], now: datetime) -> HealthRegistry:
    health = HealthRegistry(clock=lambda: now)
    health.register("app", "logs")
    result = IngestResult(received=len(times), stored=len(times), deduplicated=0,
                          dead_lettered=0)
    health.record_batch("app", len(times), result, times=times)
    return health


def test_health_warns_about_a_clock_ahead_and_names_the_correction() -> None:
    now = T0 + timedelta(minutes=30)
    ahead = [now + timedelta(minutes=10, seconds=i) for i in range(50)]  # from the future
    got = _health(ahead, now).get("app")
    assert got.clock_skew_seconds is not None and got.clock_skew_seconds < -600
    assert got.warnings and got.warnings[0].startswith("clock ahead")
    assert "clock_offset_seconds = -6" in got.warnings[0]


def test_health_warns_about_consistently_late_events() -> None:
    now = T0 + timedelta(hours=1)
    late = [now - timedelta(minutes=20, seconds=i % 5) for i in range(50)]
    got = _health(late, now).get("app")
    assert got.warnings[0].startswith("clock behind or delivery delayed")
    assert "clock_offset_seconds = 120" in got.warnings[0]


def test_health_stays_quiet_for_a_right_clock_a_backlog_and_few_events() -> None:
    now = T0 + timedelta(hours=3)
    live = [now - timedelta(seconds=i % 30) for i in range(100)]
    backlog = [T0 + timedelta(minutes=i) for i in range(150)]  # three hours read at once
    few = [now + timedelta(hours=1)] * 5
    for times in (live, backlog, few):
        assert _health(times, now).get("app").warnings == ()
    assert clock_warning(skew_of([(now, now)]), SKEW_WARN) is None


def test_the_skew_is_a_metric() -> None:
    from prometheus_client import generate_latest
    from prometheus_client.registry import CollectorRegistry

    from workbench.api.metrics import _ConnectorCollector

    now = T0 + timedelta(minutes=30)
    health = _health([now + timedelta(minutes=10)] * 30, now).get("app")
    status = {"name": "app", "tenant": "default", "live": True,
              "details": health.model_dump(mode="json")}
    registry_ = CollectorRegistry()
    registry_.register(_ConnectorCollector(lambda: [status]))
    text = generate_latest(registry_).decode()
    assert 'workbench_connector_clock_skew_seconds{connector="app",tenant="default"} -600.0' in text


async def test_a_source_can_turn_the_warning_off(sqlite_store: Store, tmp_path: Path) -> None:
    """``clock_skew_warn_seconds = 0``: stamps an hour in the future, and no warning; the
    same file with the default warns (the supervisor passes the times to health)."""
    for warn, expected in ((0, False), (300, True)):
        log = tmp_path / f"future-{warn}.log"
        _log(log, 30, start=datetime.now(UTC) + timedelta(hours=1))
        config = registry.validate({"name": f"f{warn}", "kind": "logs", "paths": [str(log)],
                                    "clock_skew_warn_seconds": warn})
        supervisor = Supervisor(sqlite_store, [(registry.build(config), config)],
                                persist_health=False)
        await supervisor.sync()
        health = supervisor.health.get(f"f{warn}")
        assert health.clock_skew_seconds is not None and health.clock_skew_seconds < -3000
        assert any(w.startswith("clock ahead") for w in health.warnings) is expected
