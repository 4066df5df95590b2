"""Timestamps in the common log forms, to tz-aware UTC (pure).

ISO 8601 / RFC 3339 (``T`` or space, ``,`` or ``.`` fractions, up to nanoseconds,
``Z`` or an offset), epoch numbers (s, ms, µs, ns by magnitude, also as strings),
Apache/nginx ``10/Oct/2000:13:55:36 -0700``, RFC 2822 and syslog ``Oct 10 13:55:36``
(no year: the observation year). A value without a zone takes the configured zone
and the caller records which zone was assumed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_FRACTION = re.compile(r"([.,]\d{6})\d+")
_SYSLOG = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\Z")


class TimestampError(ValueError):
    """A timestamp that is present but unreadable, of the wrong type, or out of range."""


def from_epoch(number: float) -> datetime:
    """Seconds, milliseconds, microseconds or nanoseconds since 1970, chosen by magnitude."""
    value = float(number)
    for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if abs(value) >= limit:
            value /= scale
            break
    try:
        return _EPOCH + timedelta(seconds=value)
    except OverflowError as exc:
        raise TimestampError(f"epoch value {number!r} is out of range") from exc


def _from_text(text: str, observed: datetime) -> datetime:
    text = text.strip()
    if text.isdigit() or (text[:1] == "-" and text[1:].isdigit()):
        return from_epoch(int(text))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    trimmed = _LONG_FRACTION.sub(r"\1", text)
    if trimmed != text:
        try:
            return datetime.fromisoformat(trimmed)
        except ValueError:
            pass
    try:
        return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        pass
    if _SYSLOG.match(text):
        # Syslog carries no zone: naive on purpose, the caller applies the configured zone.
        return datetime.strptime(f"{observed.year} {text}", "%Y %b %d %H:%M:%S")  # noqa: DTZ007
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise TimestampError(f"unreadable timestamp {text[:64]!r}") from exc


def parse_timestamp(value: Any, zone: tzinfo, observed: datetime) -> tuple[datetime, bool]:
    """``(utc, zone_assumed)``; raises :class:`TimestampError` for a bad value."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TimestampError(f"timestamp has the wrong type ({type(value).__name__})")
    if isinstance(value, str):
        if not value.strip():
            raise TimestampError("timestamp is empty")
        parsed = _from_text(value, observed)
    else:
        parsed = from_epoch(value)
    assumed = parsed.tzinfo is None or parsed.utcoffset() is None
    if assumed:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC), assumed
    except (OverflowError, ValueError) as exc:
        raise TimestampError(f"timestamp {value!r} is out of range") from exc
