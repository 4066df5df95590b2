"""Self-describing timestamp forms, read without a configured format (pure).

Each reader returns a datetime that is aware only if the text had a numeric offset;
a trailing zone name or abbreviation is split off first and returned as a token
for :mod:`storage.time_zones` to resolve, so ``2026-12-01 05:35:17.065 UTC`` and
``2025-08-13 01:45:01.123 PDT`` read the same way as ``...Z`` and ``...-07:00``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

from storage.time_zones import TimestampError

_LONG_FRACTION = re.compile(r"([.,]\d{6})\d+")
_TRAILING_ZONE = re.compile(
    r"(?P<body>.+?)\s+(?P<zone>(?:UTC|GMT)?[+-]\d{1,2}(?::?\d\d)?|"
    r"[A-Za-z][A-Za-z_]*(?:/[A-Za-z0-9_+\-]+)*)")
_SYSLOG = re.compile(r"(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2}) "
                     r"(?P<clock>\d\d:\d\d:\d\d)(?P<fraction>\.\d{1,6})?\d*")
# Whitespace inside is normalised before strptime, which accepts "Dec  4" as "Dec 4".
_FORMATS = ("%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S.%f %Y", "%d/%b/%Y:%H:%M:%S",
            "%d/%b/%Y:%H:%M:%S.%f", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f")

Parsed = tuple[datetime, bool]
"""A datetime (naive unless the text had an offset) and whether the text had a year."""


def read_free_form(text: str) -> tuple[datetime, str | None, bool]:
    """``(datetime, zone token or None, year known)``; :class:`TimestampError` if unreadable."""
    text = _LONG_FRACTION.sub(r"\1", text.strip())
    found = _read_body(text)
    if found is not None:
        return found[0], None, found[1]
    split = _TRAILING_ZONE.fullmatch(text)
    if split is not None:
        found = _read_body(split["body"])
        if found is not None:
            return found[0], split["zone"], found[1]
    raise TimestampError(f"unreadable timestamp {text[:64]!r}")


def _read_body(text: str) -> Parsed | None:
    for reader in _READERS:
        found = reader(text)
        if found is not None:
            return found
    return None


def _iso(text: str) -> Parsed | None:
    try:
        return datetime.fromisoformat(text), True
    except ValueError:
        return None


def _syslog(text: str) -> Parsed | None:
    match = _SYSLOG.fullmatch(text)
    if match is None:
        return None
    fraction = match["fraction"] or ""
    try:
        # Year 2000 is a placeholder (a leap year, so 29 February parses): the
        # caller infers the real one. No zone here: it is attached by the caller.
        parsed = datetime.strptime(  # noqa: DTZ007
            f"2000 {match['month']} {match['day']} {match['clock']}{fraction}",
            "%Y %b %d %H:%M:%S" + (".%f" if fraction else ""))
    except ValueError:
        return None
    return parsed, False


def _fixed_formats(text: str) -> Parsed | None:
    normal = " ".join(text.split())
    for fmt in _FORMATS:
        try:
            return datetime.strptime(normal, fmt), True  # noqa: DTZ007 - zone attached later
        except ValueError:
            continue
    return None


def _rfc2822(text: str) -> Parsed | None:
    # A trailing zone name is left to the zone table (the email module's own table
    # reads CST as US Central and an unknown name as UTC, silently).
    if ("," not in text and not text[:1].isdigit()) or text.rsplit(None, 1)[-1].isalpha():
        return None
    try:
        return parsedate_to_datetime(text), True
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


_READERS: tuple[Callable[[str], Parsed | None], ...] = (_iso, _syslog, _fixed_formats,
                                                        _rfc2822)
