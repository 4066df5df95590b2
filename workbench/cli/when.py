"""Times on the command line: ISO 8601 with a zone, ``now``, or an age such as ``90m``,
``2h`` or ``1d`` (that long ago; ``+2h``: that long from now)."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta

from storage.models import utcnow

_AGE = re.compile(r"^([+-]?)(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """The time ``value`` names; :class:`argparse.ArgumentTypeError` saying why not."""
    now = now or utcnow()
    text = value.strip()
    if text == "now":
        return now
    age = _AGE.match(text)
    if age:
        delta = timedelta(**{_UNITS[age.group(3)]: int(age.group(2))})
        return now + delta if age.group(1) == "+" else now - delta
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a time: {value!r} (ISO 8601 with a zone, now, or an age like 2h)") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no zone (add Z or +HH:MM)")
    return parsed
