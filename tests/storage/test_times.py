"""The time module: unit cases and properties (round trips, rollover, every zone, ranges)."""
# Naive datetimes here are local wall-clock times on purpose (what a log line says).
# ruff: noqa: DTZ001

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from storage.time_formats import TimeFormatError, compile_format
from storage.time_zones import ABBREVIATIONS, AMBIGUOUS
from storage.times import (
    AmbiguousZoneError,
    EpochUnitError,
    TimeRangeError,
    TimestampError,
    ZoneError,
    epoch_unit,
    from_epoch,
    read_time,
    time_settings,
    to_utc,
)

READ_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
UTC_ONLY = time_settings()
LOW, HIGH = datetime(1978, 1, 12, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                     timezones=offsets)


@given(aware)
@example(datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1))))
def test_iso_round_trip(value: datetime) -> None:
    for text in (value.isoformat(), value.isoformat(sep=" ")):
        reading = read_time(text, UTC_ONLY, READ_AT)
        assert reading.utc == value.astimezone(UTC) and not reading.assumed


@pytest.mark.parametrize("abbreviation", sorted(ABBREVIATIONS))
@settings(max_examples=20)
@given(local=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30)))
def test_every_abbreviation_in_the_table(abbreviation: str, local: datetime) -> None:
    offset = timedelta(minutes=ABBREVIATIONS[abbreviation])
    reading = read_time(f"{local.isoformat(sep=' ')} {abbreviation}", UTC_ONLY, READ_AT)
    assert reading.utc == (local - offset).replace(tzinfo=UTC)
    assert reading.zone == ("UTC" if abbreviation == "Z" else abbreviation)
    assert not reading.assumed


@pytest.mark.parametrize("abbreviation", sorted(AMBIGUOUS))
def test_ambiguous_abbreviations_need_the_sources_choice(abbreviation: str) -> None:
    text = f"2026-07-01 12:00:00 {abbreviation}"
    with pytest.raises(AmbiguousZoneError, match="zone_abbreviations"):
        read_time(text, UTC_ONLY, READ_AT)
    chosen = time_settings(abbreviations={abbreviation: "+05:30"})
    assert read_time(text, chosen, READ_AT).utc == datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    by_name = time_settings(abbreviations={abbreviation.lower(): "America/Chicago"})
    assert read_time(text, by_name, READ_AT).utc == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected", "zone"), [
    ("2026-12-01 05:35:17.065 UTC", datetime(2026, 12, 1, 5, 35, 17, 65000), "UTC"),
    ("2025-08-13 01:45:01.123 PDT", datetime(2025, 8, 13, 8, 45, 1, 123000), "PDT"),
    ("2026-01-15T12:00:00 Europe/Paris", datetime(2026, 1, 15, 11, 0), "Europe/Paris"),
    ("2026-07-15T12:00:00 Europe/Paris", datetime(2026, 7, 15, 10, 0), "Europe/Paris"),
    ("2026-07-15 12:00:00 UTC+5:30", datetime(2026, 7, 15, 6, 30), "+05:30"),
    ("2026-07-15 12:00:00 -0700", datetime(2026, 7, 15, 19, 0), "-07:00"),
    ("10/Oct/2000:13:55:36 -0700", datetime(2000, 10, 10, 20, 55, 36), "-07:00"),
    ("Sun Dec 04 04:47:44 2005", datetime(2005, 12, 4, 4, 47, 44), "UTC"),
    ("Sat, 28 Nov 2026 10:00:00 GMT", datetime(2026, 11, 28, 10, 0), "GMT"),
    ("Sat, 28 Nov 2026 10:00:00 +0100", datetime(2026, 11, 28, 9, 0), "+01:00"),
    ("2026-11-28T10:00:00.123456789Z", datetime(2026, 11, 28, 10, 0, 0, 123456), "UTC"),
    # RFC 9557 (Java's ZonedDateTime.toString): the offset places it, the tag names it.
    ("2007-12-03T10:15:30+01:00[Europe/Paris]", datetime(2007, 12, 3, 9, 15, 30),
     "Europe/Paris"),
    ("2026-07-15T12:00:00+02:00[!Europe/Paris][u-ca=gregory]", datetime(2026, 7, 15, 10, 0),
     "Europe/Paris"),
    ("2026-07-15T12:00:00Z[UTC]", datetime(2026, 7, 15, 12, 0), "UTC"),
    ("2026-07-15T12:00:00+00:00[_foo=bar]", datetime(2026, 7, 15, 12, 0), "UTC"),
    # Elective tags that disagree or cannot be read: the offset wins, as the RFC says.
    ("2026-07-15T12:00:00+05:00[Europe/Paris]", datetime(2026, 7, 15, 7, 0), "+05:00"),
    ("2026-07-15T12:00:00+05:00[Mars/Olympus]", datetime(2026, 7, 15, 7, 0), "+05:00"),
    ("2026-01-15T12:00:00[Europe/Paris]", datetime(2026, 1, 15, 11, 0), "Europe/Paris"),
])
def test_text_forms(text: str, expected: datetime, zone: str) -> None:
    reading = read_time(text, UTC_ONLY, READ_AT)
    assert (reading.utc, reading.zone) == (expected.replace(tzinfo=UTC), zone)


@pytest.mark.parametrize(("text", "error"), [
    ("2026-07-15 12:00:00 XYZ", ZoneError), ("2026-07-15 12:00:00 Mars/Olympus", ZoneError),
    ("2026-07-15 12:00:00 UTC+25", ZoneError), ("Sat, 28 Nov 2026 10:00:00 CST", ZoneError),
    ("9999-12-31T23:00:00-01:00", TimeRangeError), ("0001-01-01T00:30:00+01:00", TimeRangeError),
    ("yesterday-ish", TimestampError), ("", TimestampError),
    ("2026-07-15T12:00:00+05:00[!Europe/Paris]", TimestampError),
    ("2026-07-15T12:00:00+05:00[!Mars/Olympus]", ZoneError),
    ("2026-07-15T12:00:00+02:00[!x-critical=1]", TimestampError),
    ("2026-07-15T12:00:00+02:00[Europe/Paris", TimestampError),
    ("2026-07-15T12:00:00+02:00]", TimestampError),
    ("9999-12-31T23:00:00-01:00[Etc/GMT+1]", TimeRangeError),
])
def test_unplaceable_text_is_a_named_error(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_time(text, UTC_ONLY, READ_AT)


def test_to_utc_raises_a_value_error_subclass_on_overflow() -> None:
    with pytest.raises(TimeRangeError, match="outside the range of UTC times") as caught:
        to_utc(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-1))))
    assert isinstance(caught.value, ValueError)
    with pytest.raises(TimestampError, match="no time zone"):
        to_utc(datetime(2026, 1, 1))


# -- syslog's missing year ------------------------------------------------------------
month_day = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2000, 12, 31, 23))
read_times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                          timezones=st.just(UTC))


@given(month_day, read_times)
@example(datetime(2000, 12, 31, 23, 59, 59), datetime(2027, 1, 1, 0, 1, tzinfo=UTC))
@example(datetime(2000, 2, 29, 12), datetime(2027, 3, 1, tzinfo=UTC))
def test_syslog_year_is_the_latest_not_after_the_read_time(local: datetime,
                                                          read_at: datetime) -> None:
    slack, local = timedelta(days=1), local.replace(microsecond=0)
    text = f"{local:%b} {local.day:2d} {local:%H:%M:%S}"  # syslog pads the day with a space
    placed = read_time(text, time_settings(slack=slack), read_at).utc
    assert (placed.month, placed.day, placed.time()) == (local.month, local.day, local.time())
    assert placed <= read_at + slack
    # No later year would also fit: the next occurrence of that date is after the limit.
    later = [y for y in range(placed.year + 1, placed.year + 9) if _valid(y, local)]
    assert local.replace(year=later[0], tzinfo=UTC) > read_at + slack


def _valid(year: int, local: datetime) -> bool:
    try:
        local.replace(year=year)
    except ValueError:
        return False
    return True


def test_december_read_in_january_rolls_back_in_the_sources_zone() -> None:
    tokyo = time_settings(zone="Asia/Tokyo")
    # 1 January 2027 08:30 in Tokyo is 23:30 UTC on 31 December: "Jan  1 08:00" is now.
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert read_time("Jan  1 08:00:00", tokyo, now).utc == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert read_time("Dec 31 23:59:00", tokyo, now).utc.year == 2026
    assert read_time("Dec 10 06:55:46", UTC_ONLY, READ_AT).utc.year == 2025


# -- formats and two-digit years --------------------------------------------------------
@pytest.mark.parametrize(("fmt", "text", "expected"), [
    ("%y/%m/%d %H:%M:%S", "17/06/09 20:10:40", datetime(2017, 6, 9, 20, 10, 40)),
    ("%y%m%d %H%M%S", "081109 203615", datetime(2008, 11, 9, 20, 36, 15)),
    ("%y%m%d %H%M%S", "691109 203615", datetime(1969, 11, 9, 20, 36, 15)),
    ("%y%m%d %H%M%S", "271109 203615", datetime(1927, 11, 9, 20, 36, 15)),  # 2027 is future
    ("%m%d %H:%M:%S.%f", "0517 15:04:22.619632", datetime(2026, 5, 17, 15, 4, 22, 619632)),
    ("%d/%b/%Y %H:%M %Z", "01/Dec/2026 10:00 CET", datetime(2026, 12, 1, 9, 0)),
    ("%Y-%m-%d %H:%M:%S%z", "2026-12-01 10:00:00+0200", datetime(2026, 12, 1, 8, 0)),
])
def test_time_formats(fmt: str, text: str, expected: datetime) -> None:
    reading = read_time(text, time_settings(time_format=fmt), READ_AT)
    assert reading.utc == expected.replace(tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1927, 12, 2), max_value=datetime(2026, 11, 30)),
       st.sampled_from(["%y/%m/%d %H:%M:%S", "%y%m%d %H%M%S", "%d.%m.%Y %H:%M:%S.%f",
                        "%Y-%m-%dT%H:%M:%S", "%b %d %Y %I:%M:%S %p"]))
def test_formatted_times_read_back(value: datetime, fmt: str) -> None:
    if "%f" not in fmt:
        value = value.replace(microsecond=0)
    reading = read_time(value.strftime(fmt), time_settings(time_format=fmt), READ_AT)
    assert reading.utc == value.replace(tzinfo=UTC) and reading.assumed


@pytest.mark.parametrize("fmt", ["%H:%M:%S", "%Y-%m-%d %Q", "%Y-%m-%d %"])
def test_bad_time_formats_are_refused(fmt: str) -> None:
    with pytest.raises(TimeFormatError):
        compile_format(fmt)


def test_format_mismatch_is_a_record_error() -> None:
    with pytest.raises(TimestampError, match="does not match time_format"):
        read_time("2026-12-01T10:00:00Z", time_settings(time_format="%y%m%d %H%M%S"), READ_AT)


# -- epoch numbers -------------------------------------------------------------------
UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


@given(st.datetimes(min_value=LOW.replace(tzinfo=None), max_value=HIGH.replace(tzinfo=None),
                    timezones=st.just(UTC)), st.sampled_from(sorted(UNITS)))
@example(datetime(9999, 12, 29, 23, 59, 59, tzinfo=UTC), "s")
def test_epoch_round_trip_in_every_unit(value: datetime, unit: str) -> None:
    value = value.replace(microsecond=0)
    number = int(value.timestamp()) * UNITS[unit]
    assert epoch_unit(number) == unit
    assert from_epoch(number) == value == from_epoch(number, unit)
    assert read_time(str(number), UTC_ONLY, READ_AT).utc == value


@given(st.one_of(st.integers(max_value=253_402_300), st.integers(min_value=253_402_300_800 *
                                                                  10**9)))
def test_epoch_values_no_unit_places_are_errors(number: int) -> None:
    with pytest.raises(EpochUnitError):
        read_time(number, UTC_ONLY, READ_AT)


def test_an_explicit_unit_wins_over_magnitude() -> None:
    assert read_time(0, time_settings(epoch_unit="s"), READ_AT).utc == datetime(1970, 1, 1,
                                                                                 tzinfo=UTC)
    in_ms = time_settings(epoch_unit="ms")
    assert read_time(1795860000, in_ms, READ_AT).utc == datetime(1970, 1, 21, 18, 51, tzinfo=UTC)
    with pytest.raises(TimeRangeError):
        read_time(253_402_300_800, time_settings(epoch_unit="s"), READ_AT)


# -- nothing escapes ------------------------------------------------------------------
anything = st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.booleans(),
                     st.none(), aware.map(lambda d: d.isoformat()),
                     st.datetimes(timezones=offsets))


@settings(max_examples=300)
@given(anything, st.sampled_from([None, "%y%m%d %H%M%S", "%b %d %H:%M:%S %Z"]),
       st.sampled_from(["UTC", "America/Los_Angeles", "Pacific/Kiritimati"]))
@example("9999-12-31 23:59:59", None, "America/Los_Angeles")
@example("0001-01-01 00:00:00", None, "Pacific/Kiritimati")
@example("Dec 31 23:59:59", None, "America/Los_Angeles")
@example(float("nan"), None, "UTC")
def test_any_input_gives_a_reading_or_a_timestamp_error(value: object, fmt: str | None,
                                                        zone: str) -> None:
    reading_settings = time_settings(zone=zone, time_format=fmt)
    try:
        reading = read_time(value, reading_settings, READ_AT)
    except TimestampError:
        return
    assert reading.utc.tzinfo is UTC


@given(st.datetimes(min_value=datetime(9999, 12, 31, 16), timezones=st.just(ZoneInfo(
    "America/Los_Angeles"))))
def test_local_times_past_the_end_of_utc_are_range_errors(value: datetime) -> None:
    assume(value.utcoffset() is not None)
    with pytest.raises(TimeRangeError):
        read_time(value.replace(tzinfo=None).isoformat(),
                  time_settings(zone="America/Los_Angeles"), READ_AT)
