"""Fake connectors for runtime tests: fail, hang and poison on demand."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from connectors.base import Batch, ConnectorConfig
from connectors.breaker import BreakerSettings
from connectors.errors import PoisonRecordError, TransientSourceError
from connectors.retry import RetrySettings
from storage.models import EventKind, NewDeadLetter, NewEvent, Source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def parse_record(raw: bytes) -> NewEvent:
    """``b"<key>"`` is an event; anything starting with ``!`` is poison."""
    text = raw.decode()
    if text.startswith("!"):
        raise PoisonRecordError(f"unparseable record {text!r}", payload=raw,
                                error_class="FakePoison")
    number = int(text.rsplit("-", 1)[-1])
    return NewEvent(source=Source.LOGS, kind=EventKind.LOG, title=f"record {text}",
                    occurred_at=T0 + timedelta(seconds=number), dedup_key=text)


class FakeConnector:
    """Serves ``records`` in batches; cursor is the index of the next record."""

    kind: ClassVar[str] = "fake"

    def __init__(self, name: str, records: list[bytes], *, batch_size: int = 10,
                 transient_rate: float = 0.0, seed: int = 0) -> None:
        self.name = name
        self.records = records
        self.batch_size = batch_size
        self.transient_rate = transient_rate
        self.rng = random.Random(seed)
        self.hang = False
        self.fail_with: BaseException | None = None
        self.polls = 0
        self.poll_started = asyncio.Event()
        self.fixed = False  # "deploy a new parser": poison records parse after this

    def parse(self, raw: bytes) -> NewEvent:
        if self.fixed and raw.startswith(b"!"):
            return parse_record(raw[1:])
        return parse_record(raw)

    async def poll(self, cursor: str | None) -> Batch:
        self.polls += 1
        self.poll_started.set()
        if self.hang:
            await asyncio.Event().wait()
        if self.fail_with is not None:
            raise self.fail_with
        if self.rng.random() < self.transient_rate:
            raise TransientSourceError("injected outage")
        start = int(cursor or 0)
        chunk = self.records[start:start + self.batch_size]
        events, letters = [], []
        for raw in chunk:
            try:
                events.append(self.parse(raw))
            except PoisonRecordError as exc:
                letters.append(NewDeadLetter(connector=self.name, payload=exc.payload,
                                             error_class=exc.error_class, message=str(exc)))
        end = start + len(chunk)
        return Batch(events=events, dead_letters=letters, cursor=str(end),
                     caught_up=end >= len(self.records))


def config(name: str, **kw: object) -> ConnectorConfig:
    """A fast-moving config: short interval, tiny backoff, a quick breaker."""
    values: dict[str, object] = {
        "name": name, "kind": "fake", "interval_seconds": 0.01, "timeout_seconds": 2.0,
        "retry": RetrySettings(max_attempts=3, base_seconds=0.001, max_wait_seconds=0.005,
                               budget_seconds=5.0),
        "breaker": BreakerSettings(minimum_calls=3, cooldown_seconds=0.05),
    }
    values.update(kw)
    return ConnectorConfig.model_validate(values)


def records(prefix: str, n: int, *, poison_every: int = 0) -> list[bytes]:
    out = []
    for i in range(n):
        bad = poison_every and i % poison_every == poison_every - 1
        out.append(f"{'!' if bad else ''}{prefix}-{i}".encode())
    return out


async def wait_until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll ``condition`` on the loop until true; fail after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)
