"""The one time module: every timestamp a source gives, to tz-aware UTC (pure).

Read forms: ISO 8601 / RFC 3339 (``T`` or space, ``.``/``,`` fractions up to
nanoseconds, ``Z`` or an offset), a trailing zone name, abbreviation or offset
(``2026-12-01 05:35:17.065 UTC``, ``... PDT``, ``... Europe/Paris``, see
:mod:`storage.time_zones`), syslog ``Dec 10 06:55:46``, ctime ``Sun Dec 04 04:47:44
2005``, Apache ``10/Oct/2000:13:55:36 -0700``, RFC 2822, epoch numbers, and any
per-source strptime ``time_format`` (:mod:`storage.time_formats`).

Inference, always stated on the :class:`Reading`:

* no zone: the source's configured zone (``assumed``);
* no year (syslog): the year that puts the time closest to, and not after, the
  moment it is read (plus ``slack`` for clock skew), so December read in January
  is last year's;
* two-digit years (``%y``): the century chosen by the same rule;
* epoch numbers: an explicit unit, or the one unit (s, ms, µs, ns) that places
  the value between 1978-01-11 and 9999-12-31; a value no unit places there is an
  error, never read in another unit.

Every failure is a :class:`TimestampError` (a ``ValueError``) with an
``error_class`` for the DLQ; out-of-range values (``9999-12-31T23:00:00-01:00``)
are :class:`TimeRangeError`, never an ``OverflowError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal, NamedTuple, get_args

from storage.time_formats import TimeFormat, compile_format, read_format
from storage.time_free import read_free_form
from storage.time_zones import (
    AmbiguousZoneError,
    TimestampError,
    ZoneError,
    parse_offset,
    resolve_overrides,
    zone_for_token,
    zone_named,
)

__all__ = ["AmbiguousZoneError", "DisplayZone", "EpochUnit", "EpochUnitError", "Reading",
           "Skew", "TimeRangeError", "TimeSettings", "TimestampError", "ZoneError",
           "display_zone", "epoch_unit", "from_epoch", "read_time", "shifted", "skew_of",
           "time_settings", "to_utc"]

EpochUnit = Literal["s", "ms", "us", "ns"]
EPOCH_UNITS: tuple[EpochUnit, ...] = get_args(EpochUnit)
_SCALE: dict[EpochUnit, int] = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOP = 253_402_300_800
"""10000-01-01T00:00:00Z in epoch seconds: no unit may place a value at or after it."""
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SUFFIX = re.compile(r"(?:\[!?[^\[\]]+\])+$")
_TAG = re.compile(r"\[(!?)([^\[\]]+)\]")


class TimeRangeError(TimestampError):
    """A time outside what a UTC datetime can hold (years 1 to 9999)."""

    error_class = "TimestampOutOfRange"


class EpochUnitError(TimestampError):
    """An epoch number that no unit places in the accepted range."""

    error_class = "AmbiguousEpoch"


class Reading(NamedTuple):
    """A placed time: UTC, and the zone read (``PDT``, ``+02:00``) or assumed.

    (A tuple: one is built per log line, and a frozen dataclass costs 2 us more.)"""

    utc: datetime
    zone: str
    assumed: bool = False


@dataclass(frozen=True, slots=True)
class TimeSettings:
    """How one source's timestamps are read (build it with :func:`time_settings`)."""

    zone: tzinfo | None = UTC
    """Assumed for times that carry none; ``None``: such a time is an error."""
    zone_name: str = "UTC"
    time_format: TimeFormat | None = None
    abbreviations: Mapping[str, tzinfo] = field(default_factory=dict)
    epoch_unit: EpochUnit | None = None
    slack: timedelta = timedelta(days=1)


def time_settings(*, zone: str | None = "UTC", time_format: str | None = None,
                  abbreviations: Mapping[str, str] | None = None,
                  epoch_unit: EpochUnit | None = None,
                  slack: timedelta = timedelta(days=1)) -> TimeSettings:
    """Checked settings from configuration strings; ``ValueError`` names the bad one."""
    return TimeSettings(
        zone=zone_named(zone) if zone is not None else None, zone_name=zone or "",
        time_format=compile_format(time_format) if time_format else None,
        abbreviations=resolve_overrides(abbreviations or {}), epoch_unit=epoch_unit,
        slack=slack)


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC; :class:`TimeRangeError` if UTC cannot hold it, never OverflowError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimestampError(f"timestamp {value.isoformat()} has no time zone")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise TimeRangeError(f"timestamp {value.isoformat()} is outside the range of UTC "
                             "times (0001-01-01 to 9999-12-31)") from exc


def epoch_unit(number: float) -> EpochUnit:
    """The one unit that places ``number`` between 1978-01-11 and 9999-12-31."""
    for unit in EPOCH_UNITS:
        scale = _SCALE[unit]
        if _TOP * scale / 1000 <= number < _TOP * scale:
            return unit
    raise EpochUnitError(
        f"epoch value {number!r} is not a time between 1978 and 9999 in seconds, "
        "milliseconds, microseconds or nanoseconds; give the source an epoch_unit")


def from_epoch(number: float, unit: EpochUnit | None = None) -> datetime:
    """UTC time of an epoch number in ``unit`` (or the unit its magnitude implies)."""
    if isinstance(number, float) and not math.isfinite(number):
        raise TimestampError(f"epoch value {number!r} is not a number")
    scale = _SCALE[unit or epoch_unit(number)]
    try:
        if isinstance(number, int):
            seconds, rest = divmod(number, scale)
            return _EPOCH + timedelta(seconds=seconds, microseconds=rest * 1_000_000 // scale)
        return _EPOCH + timedelta(seconds=number / scale)
    except OverflowError as exc:
        raise TimeRangeError(f"epoch value {number!r} ({unit or 'by magnitude'}) is outside "
                             "the range of UTC times") from exc


def read_time(value: Any, settings: TimeSettings, observed: datetime) -> Reading:
    """Place ``value`` (text, epoch number or datetime) in UTC; read at ``observed``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | datetime):
        raise TimestampError(f"timestamp has the wrong type ({type(value).__name__})")
    if isinstance(value, int | float):
        return Reading(from_epoch(value, settings.epoch_unit), "UTC")
    if isinstance(value, datetime):
        return _place(value, None, year_known=True, two_digit=False, settings=settings,
                      observed=observed)
    text = value.strip()
    if not text:
        raise TimestampError("timestamp is empty")
    fmt = settings.time_format
    if fmt is None and len(text) > 10 and text[4] == "-":  # ISO 8601, by far the most common
        if text[-1] == "]":
            return _read_rfc9557(text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return _place(parsed, None, year_known=True, two_digit=False, settings=settings,
                          observed=observed)
    if fmt is not None:
        try:
            parsed, token = read_format(text, fmt)
        except ValueError as exc:
            raise TimestampError(f"{text[:64]!r} does not match time_format {fmt.text!r}") \
                from exc
        return _place(parsed, token, year_known=fmt.has_year, two_digit=fmt.two_digit_year,
                      settings=settings, observed=observed)
    if _NUMBER.fullmatch(text):
        number = float(text) if "." in text else int(text)
        return Reading(from_epoch(number, settings.epoch_unit), "UTC")
    parsed, token, year_known = read_free_form(text)
    return _place(parsed, token, year_known=year_known, two_digit=False, settings=settings,
                  observed=observed)


def _read_rfc9557(text: str) -> Reading:
    """An RFC 9557 stamp: RFC 3339 with suffix tags, ``...+01:00[Europe/Paris]`` (what
    Java's ``ZonedDateTime`` prints). The offset places the instant; the zone tag names
    it. A critical tag (``[!...]``) that disagrees with the offset, or that this reader
    does not know, is an error, as the RFC asks; unknown elective tags are ignored."""
    match = _SUFFIX.search(text)
    if match is None:
        raise TimestampError(f"{text[:64]!r} has an unbalanced suffix tag")
    zone_tag: tuple[bool, str] | None = None
    for critical, body in _TAG.findall(match.group(0)):
        if "=" not in body:
            zone_tag = zone_tag or (bool(critical), body)
        elif critical and body.partition("=")[0] != "u-ca":
            raise TimestampError(f"critical suffix tag [!{body}] is not understood")
    try:
        parsed = datetime.fromisoformat(text[:match.start()])
    except ValueError as exc:
        raise TimestampError(f"{text[:64]!r} is not an RFC 9557 timestamp") from exc
    if zone_tag is None:
        return _place_offset(parsed, text)
    critical, name = zone_tag
    try:
        zone = zone_named(name)
    except ZoneError:
        if critical or parsed.utcoffset() is None:
            raise
        return _place_offset(parsed, text)  # an elective tag we cannot read: the offset rules
    if parsed.utcoffset() is None:
        return Reading(to_utc(parsed.replace(tzinfo=zone)), name)
    instant = to_utc(parsed)
    try:
        agrees = instant.astimezone(zone).utcoffset() == parsed.utcoffset()
    except OverflowError as exc:
        raise TimeRangeError(f"{text[:64]!r} in its zone is outside the calendar") from exc
    if not agrees:
        if critical:
            raise TimestampError(f"offset of {text[:64]!r} disagrees with its critical zone")
        return Reading(instant, _offset_name(parsed))
    return Reading(instant, name)


def _place_offset(parsed: datetime, text: str) -> Reading:
    if parsed.utcoffset() is None:
        raise TimestampError(f"timestamp {text[:64]!r} has no time zone")
    return Reading(to_utc(parsed), _offset_name(parsed))


def _place(parsed: datetime, token: str | None, *, year_known: bool, two_digit: bool,
           settings: TimeSettings, observed: datetime) -> Reading:
    """Attach the zone read or assumed, infer a missing year or century, go to UTC."""
    assumed = False
    if parsed.tzinfo is not None and parsed.utcoffset() is not None:
        local, zone = parsed, _offset_name(parsed)
    elif token is not None:
        local = parsed.replace(tzinfo=zone_for_token(token, settings.abbreviations))
        # Offsets are named one way (+05:30) however written; names as written.
        zone = token if parse_offset(token) is None else _offset_name(local)
    elif settings.zone is None:
        raise TimestampError(f"timestamp {parsed.isoformat()} has no time zone; give an "
                             "offset such as Z or +00:00")
    else:
        local, zone, assumed = parsed.replace(tzinfo=settings.zone), settings.zone_name, True
    if not year_known or two_digit:
        local = _latest_not_after(local, observed + settings.slack, step=1 if not year_known
                                  else 100)
    return Reading(to_utc(local), zone, assumed)


def _latest_not_after(local: datetime, limit: datetime, *, step: int) -> datetime:
    """The latest year (``step`` 1) or century (``step`` 100) not after ``limit``."""
    # Start a year late: the local date may already be in the next year.
    first = limit.year + 1 if step == 1 else (limit.year // 100 + 1) * 100 + local.year % 100
    for year in range(first, first - 9 * step, -step):
        if not 1 <= year <= 9999:
            continue
        try:
            candidate = local.replace(year=year)
        except ValueError:  # 29 February in a common year
            continue
        if to_utc(candidate) <= limit:
            return candidate
    raise TimeRangeError(f"no year places {local.strftime('%m-%d %H:%M:%S')} before "
                         f"{limit.isoformat()}")


def _offset_name(value: datetime) -> str:
    if value.tzinfo is UTC:
        return "UTC"
    offset = value.utcoffset()
    assert offset is not None
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# -- clock offsets and skew ------------------------------------------------------------

MAX_CLOCK_OFFSET = timedelta(days=7)
"""Largest per-source clock offset accepted: more is a wrong zone, not a drifting clock."""


def shifted(moment: datetime, offset: timedelta) -> datetime:
    """``moment`` corrected by a source's clock ``offset`` (what to *add*: a clock 90 s
    slow has ``+90 s``); :class:`TimeRangeError` past the calendar, never OverflowError."""
    try:
        return to_utc(moment) + offset
    except OverflowError as exc:
        raise TimeRangeError(f"timestamp {moment.isoformat()} corrected by {offset} is "
                             "outside the range of UTC times") from exc


@dataclass(frozen=True, slots=True)
class Skew:
    """How far a source's event times sit from when they were received.

    ``seconds`` is the median of *received minus occurred* over ``count`` events: about
    zero for a live source with a right clock, positive when events arrive late (a
    clock behind, or delivery delay), negative when they come "from the future" (a clock
    ahead -- a right clock cannot do that)."""

    seconds: float
    count: int
    spread: float
    """Interquartile range of the differences, seconds: small means "consistently"."""


def skew_of(pairs: Sequence[tuple[datetime, datetime]]) -> Skew | None:
    """The :class:`Skew` of ``(occurred, received)`` pairs (``None`` for none)."""
    if not pairs:
        return None
    gaps = sorted((received - occurred).total_seconds() for occurred, received in pairs)
    n = len(gaps)
    middle = gaps[n // 2] if n % 2 else (gaps[n // 2 - 1] + gaps[n // 2]) / 2
    return Skew(middle, n, gaps[(3 * n) // 4] - gaps[n // 4])


# -- the zone times are shown in ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DisplayZone:
    """Where times are shown: its configured name and the zone itself."""

    name: str
    """``UTC``, ``local`` or an IANA name, as configured."""
    zone: tzinfo

    def label(self, moment: datetime | None = None) -> str:
        """What the zone is called at ``moment``: ``UTC``, ``CET``/``CEST``, ``+0530``."""
        if self.zone is UTC:
            return "UTC"
        at = (moment or datetime.now(UTC)).astimezone(self.zone)
        return at.tzname() or at.strftime("%z")

    def local(self, moment: datetime) -> datetime:
        """``moment`` in this zone."""
        return moment if self.zone is UTC else moment.astimezone(self.zone)


def _system_zone() -> tzinfo:
    """The machine's zone (``TZ`` or ``/etc/localtime``), with its rules, not a fixed offset."""
    import os
    import zoneinfo

    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as handle:
            return zoneinfo.ZoneInfo.from_file(handle, key="localtime")
    except OSError:
        found = datetime.now().astimezone().tzinfo  # noqa: DTZ005 - asking for the local zone
        return found or UTC


def display_zone(name: str) -> DisplayZone:
    """``UTC``, ``local`` (this machine's zone), an IANA name (or an offset);
    :class:`ZoneError` for anything else (a typo must not silently show UTC)."""
    cleaned = name.strip()
    if cleaned.upper() in ("UTC", "Z"):
        return DisplayZone("UTC", UTC)
    if cleaned.lower() == "local":
        return DisplayZone("local", _system_zone())
    try:
        return DisplayZone(cleaned, zone_named(cleaned))
    except ZoneError as exc:
        raise ZoneError(f"display zone {name!r} is not UTC, local or an IANA zone name such "
                        "as Europe/Paris") from exc
