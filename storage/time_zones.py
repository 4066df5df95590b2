"""Zone names and abbreviations as they appear in timestamps, to ``tzinfo`` (pure).

An abbreviation names a fixed offset (``PDT`` is UTC-7 whatever the date), so the
table maps each one to minutes east of UTC. Some abbreviations name several zones
(``IST`` is India, Ireland or Israel; ``CST`` is US Central, China or Cuba): those
are in :data:`AMBIGUOUS` and are an error unless the source says which it means
(a per-source override: ``{"IST": "+05:30"}`` or ``{"CST": "America/Chicago"}``).
Anything else is an IANA name (``Europe/Paris``, ``UTC``) or ``UTC+2``/``GMT-03:30``.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, timedelta, timezone, tzinfo

ABBREVIATIONS: dict[str, int] = {
    # UTC and Europe
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "CET": 60, "CEST": 120,
    "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "BST": 60, "IDT": 180,
    # Africa, Asia, Oceania
    "WAT": 60, "CAT": 120, "SAST": 120, "EAT": 180, "PKT": 300, "NPT": 345, "ICT": 420,
    "WIB": 420, "SGT": 480, "HKT": 480, "PHT": 480, "AWST": 480, "JST": 540, "KST": 540,
    "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
    # The Americas
    "HST": -600, "HDT": -540, "AKST": -540, "AKDT": -480, "PST": -480, "PDT": -420,
    "MST": -420, "MDT": -360, "CDT": -300, "EST": -300, "EDT": -240, "ADT": -180,
    "NST": -210, "NDT": -150, "BRT": -180, "ART": -180,
}
"""Abbreviation -> minutes east of UTC. ``BST`` is British Summer Time (Bangladesh
uses its zone name); ``CDT`` is US Central Daylight (Cuba's is rare in logs)."""

AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "IST": ("India +05:30", "Ireland +01:00", "Israel +02:00"),
    "CST": ("US Central -06:00", "China +08:00", "Cuba -05:00"),
    "AST": ("Atlantic -04:00", "Arabia +03:00"),
    "ECT": ("Ecuador -05:00", "Eastern Caribbean -04:00"),
}
"""Abbreviations that name more than one offset: each source must say which it means."""

_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?\Z")


class TimestampError(ValueError):
    """A timestamp that cannot be placed in UTC; ``error_class`` names why (for the DLQ)."""

    error_class = "BadTimestamp"


class ZoneError(TimestampError):
    """A zone name or abbreviation that cannot be placed (unknown or ambiguous)."""

    error_class = "UnknownZone"


class AmbiguousZoneError(ZoneError):
    """An abbreviation with several meanings and no per-source choice."""

    error_class = "AmbiguousZone"


def fixed(minutes: int, name: str | None = None) -> tzinfo:
    """A fixed-offset zone ``minutes`` east of UTC."""
    if minutes == 0:
        return UTC
    return timezone(timedelta(minutes=minutes), name) if name else \
        timezone(timedelta(minutes=minutes))


def parse_offset(text: str) -> tzinfo | None:
    """``+05:30``, ``-0700``, ``UTC+2``, ``GMT-03:30``; ``None`` if ``text`` is no offset."""
    match = _OFFSET.match(text)
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59:
        raise ZoneError(f"offset {text!r} is out of range (at most 23:59)")
    total = hours * 60 + minutes
    return fixed(-total if sign == "-" else total)


def zone_named(name: str) -> tzinfo:
    """An IANA name, an offset or an unambiguous abbreviation; :class:`ZoneError` if none."""
    offset = parse_offset(name)
    if offset is not None:
        return offset
    upper = name.upper()
    if upper in ABBREVIATIONS:
        return fixed(ABBREVIATIONS[upper], upper)
    if upper in AMBIGUOUS:
        raise AmbiguousZoneError(
            f"zone abbreviation {name!r} is ambiguous ({', '.join(AMBIGUOUS[upper])}); "
            f"say which this source means, e.g. zone_abbreviations = "
            f"{{{upper} = \"{AMBIGUOUS[upper][0].rsplit(' ', 1)[-1]}\"}}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ZoneError(f"unknown time zone {name!r}") from exc


def resolve_overrides(overrides: Mapping[str, str]) -> dict[str, tzinfo]:
    """A source's abbreviation choices, checked: ``{"IST": "+05:30"}`` -> zones."""
    resolved: dict[str, tzinfo] = {}
    for abbreviation, meaning in overrides.items():
        if not re.fullmatch(r"[A-Za-z]{1,6}", abbreviation):
            raise ZoneError(f"{abbreviation!r} is not a zone abbreviation (1-6 letters)")
        resolved[abbreviation.upper()] = zone_named(meaning)
    return resolved


def zone_for_token(token: str, overrides: Mapping[str, tzinfo]) -> tzinfo:
    """The zone a timestamp's zone token names: the source's choice first, then the table."""
    chosen = overrides.get(token.upper())
    return chosen if chosen is not None else zone_named(token)


def token_pattern(overrides: Mapping[str, tzinfo] = {}) -> str:  # noqa: B006 - read only
    """A regex matching the zone tokens this module knows (longest first), for line patterns."""
    names = sorted({*ABBREVIATIONS, *AMBIGUOUS, *overrides} - {"Z"}, key=lambda n: (-len(n), n))
    return (r"(?:(?:UTC|GMT)[+-]\d{1,2}(?::?\d\d)?|[A-Z][A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)+|"
            + "|".join(names) + r")(?![\w/])")
