"""Unit tests of pure log parsing: formats, timestamps, severity, context, bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from connectors.errors import PoisonRecordError
from connectors.logs.formats import PLAIN_PATTERN
from connectors.logs.parse import (
    LogContext,
    RecordRef,
    decode_envelope,
    encode_envelope,
    parse_record,
)
from connectors.logs.severity import error_type_from_text, level_severity
from storage.models import NewEvent, Severity
from storage.times import TimestampError, read_time, time_settings

OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
REF = RecordRef("fe00-1-0-abc", 42, "/var/log/app.log", OBSERVED)


def ctx(fmt: str = "jsonl", **extra: Any) -> LogContext:
    zone = str(extra.pop("zone", "UTC"))
    pattern = extra.pop("pattern", PLAIN_PATTERN if fmt in ("plain", "regex") else None)
    return LogContext(format=fmt, time=time_settings(zone=zone),
                      pattern=re.compile(str(pattern)) if pattern else None, **extra)


def parse_json(obj: object, **extra: Any) -> object:
    return parse_record(orjson.dumps(obj), REF, ctx(**extra))


def test_jsonl_with_otel_context() -> None:
    event = parse_record(orjson.dumps({
        "timestamp": "2026-11-28T10:00:00.123456789Z", "level": "WARN", "msg": "slow query",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
        "service.name": "checkout", "host": "web-1", "request_id": "req-9", "db": "orders"}),
        REF, ctx())
    assert event.severity is Severity.MEDIUM and event.title == "slow query"
    assert event.occurred_at == datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=UTC)
    assert (event.trace_id, event.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736",
                                               "00f067aa0ba902b7")
    assert (event.service, event.host) == ("checkout", "web-1")
    assert event.attributes["request_id"] == "req-9"
    assert event.attributes["fields"] == {"db": "orders"}  # unknown fields are kept
    assert event.dedup_key == "fe00-1-0-abc@42"


def test_naive_timestamp_takes_configured_zone_and_says_so() -> None:
    event = parse_record(b'{"time":"2026-07-01 12:00:00","msg":"x"}', REF,
                         ctx(zone="America/New_York"))
    assert event.occurred_at == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert event.attributes["timestamp_zone_assumed"] == "America/New_York"
    aware = parse_record(b'{"time":"2026-07-01T12:00:00+02:00","msg":"x"}', REF,
                         ctx(zone="America/New_York"))
    assert "timestamp_zone_assumed" not in aware.attributes


def test_missing_timestamp_uses_read_time_and_says_so() -> None:
    event = parse_record(b'{"msg":"no time"}', REF, ctx())
    assert event.occurred_at == OBSERVED and event.attributes["timestamp_missing"] is True


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-28T10:00:00Z", datetime(2026, 11, 28, 10, tzinfo=UTC)),
    ("2026-11-28 10:00:00,500+01:00", datetime(2026, 11, 28, 9, 0, 0, 500000, tzinfo=UTC)),
    ("28/Nov/2026:10:00:00 -0500", datetime(2026, 11, 28, 15, tzinfo=UTC)),
    ("Sat, 28 Nov 2026 10:00:00 GMT", datetime(2026, 11, 28, 10, tzinfo=UTC)),
    ("Nov 28 10:00:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),
    (1795860000, datetime(2026, 11, 28, 10, tzinfo=UTC)),
    (1795860000500, datetime(2026, 11, 28, 10, 0, 0, 500000, tzinfo=UTC)),
    ("1795860000000000", datetime(2026, 11, 28, 10, tzinfo=UTC)),
    (1795860000000000000, datetime(2026, 11, 28, 10, tzinfo=UTC)),
])
def test_timestamp_forms(value: object, expected: datetime) -> None:
    assert read_time(value, time_settings(), OBSERVED).utc == expected


@pytest.mark.parametrize("value", [True, None, {"a": 1}, [1], "", "yesterday-ish", "9" * 40])
def test_bad_timestamps(value: object) -> None:
    with pytest.raises(TimestampError):
        read_time(value, time_settings(), OBSERVED)


@pytest.mark.parametrize(("line", "error_class"), [
    (b'{"msg": "trunc', "InvalidJSON"),
    (b"not json at all", "InvalidJSON"),
    (b'{"msg":"bad \xff\xfe utf8"}', "InvalidJSON"),
    (b"[1, 2, 3]", "NotAnObject"),
    (b'{"ts": true, "msg": "x"}', "BadTimestamp"),
    (b'{"ts": {"nested": 1}, "msg": "x"}', "BadTimestamp"),
    (b'{"ts": "2999-01-01T00:00:00Z", "msg": "x"}', "FutureTimestamp"),
    (b'{"a":' * 1000 + b"1" + b"}" * 1000, "TooDeep"),
])
def test_bad_json_records_are_poison_with_a_clear_class(line: bytes, error_class: str) -> None:
    with pytest.raises(PoisonRecordError) as caught:
        parse_record(line, REF, ctx())
    assert caught.value.error_class == error_class
    assert caught.value.payload == line


def test_wrong_types_are_tolerated_where_unambiguous() -> None:
    event = parse_record(orjson.dumps({"ts": 1795860000, "level": 50, "msg": {"k": [1, 2]},
                                       "trace_id": 12345, "host": ["a"], "status": "502"}),
                         REF, ctx())
    assert event.title == '{"k":[1,2]}' and event.severity is Severity.HIGH
    assert event.trace_id == "12345" and event.host is None


def test_escape_sequences_are_kept_as_data_and_nul_replaced() -> None:
    event = parse_record(orjson.dumps({"msg": "a\x1b]0;pwned\x07 b\x1b[31m c\x00d"}), REF, ctx())
    assert "\x1b]0;pwned\x07" in event.title and "\x00" not in event.title


@pytest.mark.parametrize(("text", "signal", "severity"), [
    ("Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'",
     "stacktrace", Severity.HIGH),
    ("panic: runtime error: index out of range\n\ngoroutine 1 [running]:", "panic",
     Severity.CRITICAL),
    ("Memory cgroup out of memory: Killed process 123 (java)", "oom", Severity.CRITICAL),
    ('10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 503 12', "http_5xx",
     Severity.HIGH),
])
def test_severity_from_content(text: str, signal: str, severity: Severity) -> None:
    event = parse_json({"level": "info", "msg": text})
    assert signal in event.tags and event.severity is severity  # type: ignore[attr-defined]


def test_level_mapping() -> None:
    assert level_severity("ERROR") is Severity.HIGH
    assert level_severity("fatal") is Severity.CRITICAL
    assert level_severity(3, syslog=True) is Severity.HIGH
    assert level_severity(60) is Severity.CRITICAL
    assert level_severity("banana") is None and level_severity(True) is None


def test_error_type_python_last_java_first() -> None:
    py = "Traceback (most recent call last):\n  File \"x\"\nOSError: a\n\nDuring ...\nValueError: b"
    java = ("java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n"
            "Caused by: java.io.IOException: disk")
    assert error_type_from_text(py) == "ValueError"
    assert error_type_from_text(java) == "java.lang.IllegalStateException"
    assert error_type_from_text("panic: runtime error: nil map") == "runtime error"


def test_journald_export() -> None:
    line = orjson.dumps({"__REALTIME_TIMESTAMP": "1795860000000000", "PRIORITY": "3",
                         "MESSAGE": "unit failed", "SYSLOG_IDENTIFIER": "sshd",
                         "_HOSTNAME": "bastion", "_PID": "77"})
    event = parse_record(line, REF, ctx("journald"))
    assert event.occurred_at == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert (event.severity, event.service, event.host) == (Severity.HIGH, "sshd", "bastion")
    assert event.attributes["fields"] == {"_PID": "77"}


def test_logfmt_with_quotes_and_continuation() -> None:
    data = (b'ts=2026-11-28T10:00:00Z level=error msg="request failed: \\"db\\" down" '
            b"trace_id=abc123 user=bob\nTraceback (most recent call last):\nIOError: x")
    event = parse_record(data, REF, ctx("logfmt", tags=(("db", re.compile(r"\bdb\b")),)))
    assert event.title == 'request failed: "db" down' and event.trace_id == "abc123"
    assert event.severity is Severity.HIGH and "Traceback" in event.body
    assert set(event.tags) == {"stacktrace", "db"}
    assert event.attributes["fields"] == {"user": "bob"}


def test_plain_and_regex_formats() -> None:
    plain = parse_record(b"2026-11-28 10:00:00,123 ERROR request_id=r-7 it broke", REF,
                         ctx("plain"))
    assert plain.severity is Severity.HIGH and plain.title == "request_id=r-7 it broke"
    assert plain.attributes["request_id"] == "r-7"
    nginx = r'(?P<host>\S+) \S+ \S+ \[(?P<ts>[^\]]+)\] "(?P<message>[^"]*)" (?P<status>\d{3})'
    event = parse_record(b'10.1.1.1 - - [28/Nov/2026:10:00:00 +0000] "GET /pay HTTP/1.1" 500',
                         REF, ctx("regex", pattern=nginx))
    assert event.title == "GET /pay HTTP/1.1" and event.severity is Severity.HIGH
    assert event.attributes["http_status"] == "500" and event.host == "10.1.1.1"


def test_invalid_utf8_in_text_is_repaired_and_flagged() -> None:
    event = parse_record(b"2026-11-28 10:00:00 INFO caf\xe9", REF, ctx("plain"))
    assert event.title == "caf\ufffd" and event.attributes["invalid_utf8"] is True


def test_envelope_round_trip() -> None:
    raw = encode_envelope(b"line\nwith newline", REF, truncated_from=99)
    assert decode_envelope(raw) == (b"line\nwith newline", REF, 99)
    with pytest.raises(PoisonRecordError):
        decode_envelope(b"garbage")


def test_far_future_tolerance_is_configurable() -> None:
    line = orjson.dumps({"ts": (OBSERVED + timedelta(hours=2)).isoformat(), "msg": "x"})
    assert parse_record(line, REF, ctx()).title == "x"
    with pytest.raises(PoisonRecordError):
        parse_record(line, REF, ctx(future_tolerance=timedelta(hours=1)))


@pytest.mark.parametrize(("line", "severity", "level"), [
    (b"2026-11-28 10:00:00,123 - ERROR - payments - card declined", Severity.HIGH, "ERROR"),
    (b"2026-11-28 10:00:00 ERROR:root:disk almost full", Severity.HIGH, "ERROR"),
    (b"2026-11-28 10:00:00 [main] WARN  c.e.App - slow", Severity.MEDIUM, "WARN"),
    (b"2026-11-28 10:00:00.065 UTC [77] FATAL:  the database system is starting up",
     Severity.CRITICAL, "FATAL"),
    (b"[Sat Nov 28 10:00:00.123456 2026] [core:crit] [pid 1] AH00051: child", Severity.CRITICAL,
     "crit"),
    (b"<11>Nov 28 10:00:00 web-1 app[42]: failed to bind", Severity.HIGH, "3"),
    (b"2026-11-28T10:00:00Z\twarn\tzap/logger.go:12\tretrying", Severity.MEDIUM, "warn"),
    (b"[2023-05-15 18:19:32] local.ERROR: Target class does not exist.", Severity.HIGH,
     "ERROR"),
    (b"2016-09-28 04:30:30, Warning               CBS    Failed to load", Severity.MEDIUM,
     "Warning"),
    (b"2012-07-02 10:22:40,672:WARN:foo bar baz", Severity.MEDIUM, "WARN"),
    (b"2026-11-28 10:00:00 GET /errors/INFORMATION 200", Severity.INFO, None),
    (b"2026-11-28 10:00:00 user error_count=3 (not a level)", Severity.INFO, None),
])
def test_plain_finds_levels_past_the_timestamp(line: bytes, severity: Severity,
                                               level: str | None) -> None:
    event = parse_record(line, REF, ctx("plain"))
    assert event.severity is severity and event.attributes.get("level") == level
    assert "unparsed" not in event.attributes


def test_plain_syslog_gives_host_and_program() -> None:
    event = parse_record(b"Nov 28 10:00:00 web-1 nginx[42]: worker started", REF, ctx("plain"))
    assert (event.host, event.service) == ("web-1", "nginx")
    assert event.occurred_at == datetime(2026, 11, 28, 10, tzinfo=UTC)


def test_plain_with_a_zone_override_and_a_time_format() -> None:
    from connectors.logs.config import LogsConfig
    from connectors.logs.connector import LogsConnector

    config = LogsConfig(name="x", paths=["/nonexistent"], format="plain",
                        time_format="%d.%m.%Y %H:%M:%S %Z", zone_abbreviations={"IST": "+05:30"})
    event = parse_record(b"28.11.2026 10:00:00 IST ERROR payment failed", REF,
                         LogsConnector(config).context)
    assert event.occurred_at == datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
    assert event.attributes["timestamp_zone"] == "IST" and event.severity is Severity.HIGH
    assert event.title == "payment failed"


@pytest.mark.parametrize(("settings", "message"), [
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"time_format": "%H:%M:%S"}, "has no day"),
    ({"zone_abbreviations": {"IST": "India"}}, "unknown time zone"),
    ({"epoch_unit": "minutes"}, "epoch_unit"),
])
def test_time_settings_are_checked_with_the_config(settings: dict[str, object],
                                                   message: str) -> None:
    from pydantic import ValidationError

    from connectors.logs.config import LogsConfig

    with pytest.raises(ValidationError, match=message):
        LogsConfig(name="x", paths=["/x"], **settings)


def test_a_time_out_of_range_is_one_dead_record() -> None:
    with pytest.raises(PoisonRecordError) as caught:
        parse_record(b'{"ts": "9999-12-31T23:00:00-01:00", "msg": "x"}', REF, ctx())
    assert caught.value.error_class == "TimestampOutOfRange"
    with pytest.raises(PoisonRecordError) as ambiguous:
        parse_record(b"2026-11-28 10:00:00 CST ERROR x", REF, ctx("plain"))
    assert ambiguous.value.error_class == "AmbiguousZone"


@pytest.mark.parametrize(("stamp", "expected"), [
    ({"$date": "2020-05-18T20:18:12.814-04:00"}, datetime(2020, 5, 19, 0, 18, 12, 814000,
                                                          tzinfo=UTC)),
    ({"$date": {"$numberLong": "1589833092814"}}, datetime(2020, 5, 18, 20, 18, 12, 814000,
                                                            tzinfo=UTC)),
])
def test_mongodb_extended_json_dates_and_one_letter_levels(stamp: object,
                                                           expected: datetime) -> None:
    event = parse_json({"t": stamp, "s": "E", "c": "REPL", "msg": "Election failed"})
    assert isinstance(event, NewEvent)
    assert (event.occurred_at, event.severity, event.title) == (expected, Severity.HIGH,
                                                                "Election failed")


def test_s_is_a_level_only_beside_an_extended_json_time() -> None:
    """Elsewhere "s" is any field (a size, a state): it must not set the level."""
    event = parse_json({"time": "2026-11-28T11:00:00Z", "s": "E", "msg": "m"})
    assert isinstance(event, NewEvent)
    assert event.severity is Severity.INFO
    assert event.attributes["fields"] == {"s": "E"}


def test_a_malformed_extended_json_date_is_one_dead_record() -> None:
    with pytest.raises(PoisonRecordError):
        parse_json({"t": {"$date": {"$numberLong": "soon"}}, "s": "I", "msg": "m"})


def test_integers_json_cannot_hold_exactly_are_poison_not_rounded() -> None:
    # orjson alone reads 2**70 as 1.1805916207174113e+21: a silent change. The same
    # rule as the API and `workbench ingest`: exact, then refused past 64 bits.
    line = b'{"ts": "2026-11-28T11:00:00Z", "msg": "x", "bytes": 1180591620717411303424}'
    with pytest.raises(PoisonRecordError) as caught:
        parse_record(line, REF, ctx())
    assert caught.value.error_class == "InvalidEvent"
    assert "attributes.fields.bytes" in str(caught.value)
    assert caught.value.payload == line
    event = parse_record(b'{"ts": "2026-11-28T11:00:00Z", "msg": "x", '
                         b'"big": 9223372036854775807, "u": 18446744073709551615}', REF, ctx())
    assert event.attributes["fields"] == {"big": 2**63 - 1, "u": 2**64 - 1}
