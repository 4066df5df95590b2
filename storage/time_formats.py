"""strptime-style formats: checked once, turned into a regex, read with the zone split off.

A source whose timestamps are not ISO or another self-describing form says how
they look with ``time_format`` (``%y/%m/%d %H:%M:%S`` for Spark, ``%y%m%d %H%M%S``
for HDFS). The same format yields the regex that finds the timestamp at the start
of a line, so the line pattern and the parser cannot disagree. ``%Z`` takes any
zone token, resolved by :mod:`storage.time_zones` (Python's own ``%Z`` knows only
UTC, GMT and the local zone's names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

_DIRECTIVES: dict[str, str] = {
    "Y": r"\d{4}", "y": r"\d\d", "m": r"[ \d]?\d", "d": r"[ \d]?\d", "e": r"[ \d]?\d",
    "H": r"[ \d]?\d", "I": r"[ \d]?\d", "M": r"\d\d", "S": r"\d\d", "f": r"\d{1,9}",
    "b": r"[A-Za-z]{3}", "h": r"[A-Za-z]{3}", "B": r"[A-Za-z]+", "a": r"[A-Za-z]{3}",
    "A": r"[A-Za-z]+", "p": r"(?i:AM|PM)", "j": r"\d{3}", "z": r"(?:Z|[+-]\d\d(?::?\d\d)?)",
    "%": "%",
}
# Where the format says a zone is, any name-like token is taken (and checked later).
_ANY_ZONE = r"(?:[A-Za-z][A-Za-z_]*(?:/[A-Za-z0-9_+\-]+)*(?:[+-]\d{1,2}(?::?\d\d)?)?)"
_YEARS = ("%Y", "%y", "%G")
_LONG_FRACTION = re.compile(r"([.,]\d{6})\d+")


class TimeFormatError(ValueError):
    """A ``time_format`` that is not a usable strptime format."""


@dataclass(frozen=True, slots=True)
class TimeFormat:
    """A checked strptime format and what it leaves for inference."""

    text: str
    regex: str
    has_year: bool
    two_digit_year: bool
    has_zone_name: bool


@lru_cache(maxsize=64)
def compile_format(text: str) -> TimeFormat:
    """Check ``text`` and derive its regex; :class:`TimeFormatError` names the problem."""
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "%":
            parts.append(r"\s+" if char.isspace() else re.escape(char))
            index += 1
            continue
        directive = text[index + 1:index + 2]
        if directive == "Z":
            parts.append(f"(?P<zone>{_ANY_ZONE})")
        elif directive in _DIRECTIVES:
            parts.append(_DIRECTIVES[directive])
        else:
            raise TimeFormatError(f"time_format {text!r}: unsupported directive %{directive}")
        index += 2
    if "%d" not in text and "%e" not in text and "%j" not in text:
        raise TimeFormatError(f"time_format {text!r} has no day (%d, %e or %j)")
    return TimeFormat(text=text, regex="".join(parts), has_year=any(y in text for y in _YEARS),
                      two_digit_year="%y" in text, has_zone_name="%Z" in text)


def read_format(text: str, fmt: TimeFormat) -> tuple[datetime, str | None]:
    """``(parsed, zone token)``: naive unless the format has ``%z``; year 2000 if none.

    A format without a year is read in 2000 (a leap year, so ``Feb 29`` parses) and
    the caller infers the real year; ``ValueError`` if ``text`` does not fit.
    """
    zone: str | None = None
    pattern, body = fmt.text.replace("%e", "%d"), _LONG_FRACTION.sub(r"\1", text.strip())
    if fmt.has_zone_name:
        match = re.fullmatch(fmt.regex, body)
        if match is None:
            raise ValueError(f"{text[:64]!r} does not match time_format {fmt.text!r}")
        zone = match["zone"]
        body = body[:match.start("zone")] + body[match.end("zone"):]
        pattern = pattern.replace("%Z", "")
    if not fmt.has_year:
        pattern, body = f"{pattern} %Y", f"{body} 2000"
    # A zone, if any, is %z (aware) or was split off above: naive is intended here.
    return datetime.strptime(body, pattern), zone  # noqa: DTZ007
