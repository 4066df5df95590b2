"""Configuration of the log-file connector."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from connectors.base import ConnectorConfig
from storage.times import EpochUnit, TimeSettings, time_settings

LogFormat = Literal["jsonl", "logfmt", "regex", "plain", "journald"]


class LogsConfig(ConnectorConfig):
    """Tail files and globs.

    ``format``: ``jsonl`` (one JSON object per line), ``journald`` (``journalctl -o
    json``), ``logfmt``, ``regex`` (``pattern`` with named groups such as ``ts``,
    ``level``, ``message`` and any context field) or ``plain`` (a built-in pattern:
    an ISO timestamp, an optional level, the message). Text formats join multi-line
    records (stack traces): a line that does not start a record continues the last.
    ``timezone`` is the zone assumed for timestamps that carry none; the event says
    which zone was read or assumed. ``time_format`` (strptime-style) reads timestamps
    that are not self-describing (Spark ``%y/%m/%d %H:%M:%S``, HDFS ``%y%m%d %H%M%S``)
    and, for ``plain``, also finds them at the start of the line. ``zone_abbreviations``
    says what ambiguous abbreviations mean for this source (``{IST = "+05:30"}``).
    ``epoch_unit`` fixes the unit of epoch numbers (else their magnitude decides).
    ``on_unmatched`` (regex/plain): a line the pattern does not match is stored as an
    unparsed event (``store``) or dead-lettered (``dlq``); health counts it either way.
    ``tags`` maps a tag to a regex searched in the message.
    """

    kind: Literal["logs"] = "logs"
    interval_seconds: float = Field(default=2.0, gt=0)
    """Tailing wants low latency; a poll that finds nothing new costs a few stat calls."""
    paths: Annotated[list[str], Field(min_length=1)]
    format: LogFormat = "jsonl"
    pattern: str | None = None
    timezone: str = "UTC"
    time_format: str | None = None
    zone_abbreviations: dict[str, str] = Field(default_factory=dict)
    epoch_unit: EpochUnit | None = None
    on_unmatched: Literal["store", "dlq"] = "store"
    service: str | None = None
    environment: str | None = None
    host: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    multiline: bool = True
    start_at: Literal["beginning", "end"] = "beginning"
    max_line_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    max_batch_bytes: Annotated[int, Field(ge=4096)] = 8 * 1024 * 1024
    max_batch_records: Annotated[int, Field(ge=1)] = 20_000
    multiline_flush_seconds: Annotated[float, Field(ge=0)] = 2.0
    """A last record this fresh may still get continuation lines: wait before emitting it."""
    rotate_wait_seconds: Annotated[float, Field(ge=0)] = 5.0
    """How long a rotated-away file stays quiet before it is finished and forgotten."""
    future_tolerance_seconds: Annotated[float, Field(ge=0)] = 86_400.0

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return value

    @field_validator("tags")
    @classmethod
    def _valid_tag_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for tag, rx in value.items():
            try:
                re.compile(rx)
            except re.error as exc:
                raise ValueError(f"tag {tag!r}: invalid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LogsConfig:
        if self.format == "regex" and not self.pattern:
            raise ValueError("format 'regex' needs a 'pattern' with named groups")
        if self.max_batch_bytes <= self.max_line_bytes:
            raise ValueError("max_batch_bytes must be larger than max_line_bytes")
        self.time_settings()  # the zone, format and abbreviations are checked here, once
        return self

    def time_settings(self) -> TimeSettings:
        """How this source's timestamps are read (``ValueError`` names a bad setting)."""
        return time_settings(zone=self.timezone, time_format=self.time_format,
                             abbreviations=self.zone_abbreviations, epoch_unit=self.epoch_unit,
                             slack=timedelta(seconds=self.future_tolerance_seconds))
