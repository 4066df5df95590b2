"""Record bytes -> a flat field dict, per log format (pure).

JSON formats must be one object per line. Text formats (logfmt, regex, plain) read
their fields from the first line; further lines of a joined record (a stack trace)
are returned as the continuation text.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from connectors.errors import PoisonRecordError
from storage.jsonsafe import loads_exact
from storage.time_formats import TimeFormat
from storage.time_zones import token_pattern

_LEVEL_WORDS = ("trace|debug[1-5]?|info|notice|note|warn|warning|error|err|crit|critical|"
                "fatal|panic|alert|emerg|severe")
# Timestamps a plain line may start with when the source gives no time_format: ISO
# (with an offset, Z or a known zone name after it), syslog, and ctime (Apache).
_ISO_TS = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_SYSLOG_TS = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?"
_CTIME_TS = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4}"
# Where the level is not right after the timestamp (PostgreSQL "[123] ERROR:", log4j
# " - WARN  [", Python "ERROR:root:", Monolog "app.ERROR:", Apache "[error]", zap
# "\terror\t"), it is the first level word near the start: upper case on its own,
# any case in brackets or between tabs.
_LEVEL_ANYWHERE = re.compile(
    r"(?<![\w\-/])(?P<upper>(?:TRACE|DEBUG[1-5]?|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|"
    r"CRITICAL|FATAL|PANIC|ALERT|EMERG|SEVERE|LOG))(?![\w.\-/])"
    rf"|[\[<(](?:[\w-]+:)?(?P<bracketed>(?i:{_LEVEL_WORDS}))[\]>)]"
    rf"|\t(?P<tabbed>(?i:{_LEVEL_WORDS}))\t")
_SYSLOG_HEAD = re.compile(r"(?P<host>[\w.\-]+) (?P<service>[\w.\-/()]+?)(?:\[\d+\])?: ")
_SYSLOG_STAMP = re.compile(_SYSLOG_TS)
LEVEL_SEARCH_SPAN = 80
"""How far into a plain line's message a level word is looked for."""


def plain_pattern(time_format: TimeFormat | None = None, zones: str | None = None) -> str:
    """The ``plain`` line pattern: an optional syslog ``<PRI>``, the timestamp (of
    ``time_format`` if given), an optional level right after it, the message."""
    if time_format is not None:
        ts = time_format.regex.replace("(?P<zone>", "(?:")
    else:
        ts = f"{_ISO_TS}(?: {zones or token_pattern()})?|{_SYSLOG_TS}|{_CTIME_TS}"
    return (rf"^(?:<(?P<pri>\d{{1,3}})>(?:1 )?)?\[?(?P<ts>{ts})\]?(?:[,:]\s*|\s+)"
            rf"(?:\[?(?P<level>(?i:{_LEVEL_WORDS}))\]?:?\s+)?(?P<message>.*)$")


PLAIN_PATTERN = plain_pattern()


def level_in_text(text: str) -> str | None:
    """The first level word near the start of ``text`` (see ``_LEVEL_ANYWHERE``)."""
    match = _LEVEL_ANYWHERE.search(text, 0, LEVEL_SEARCH_SPAN)
    if match is None:
        return None
    return match["upper"] or match["bracketed"] or match["tabbed"]
_LOGFMT_START = re.compile(r"\s*[A-Za-z_][\w.\-/]*=")
_LOGFMT_PAIR = re.compile(r'([A-Za-z_][\w.\-/]*)=("(?:[^"\\]|\\.)*"|\S*)')
_ESCAPE = re.compile(r"\\(.)")
_DEPTH_HINT = 64  # only records with this many brackets get the (slower) depth check
MAX_DEPTH = 64


class Parsed(NamedTuple):
    """What a format extracted: fields, continuation text, and whether UTF-8 was repaired."""

    fields: dict[str, Any]
    continuation: str = ""
    invalid_utf8: bool = False
    unmatched: bool = False


def json_fields(data: bytes) -> Parsed:
    """One JSON object; anything else is a poison record with a clear reason."""
    try:
        value = loads_exact(data)  # 2**70 stays exact, then refused; never a rounded float
    except ValueError as exc:
        raise PoisonRecordError(f"invalid JSON: {exc}", payload=data,
                                error_class="InvalidJSON") from exc
    if not isinstance(value, dict):
        raise PoisonRecordError(f"expected a JSON object, got {type(value).__name__}",
                                payload=data, error_class="NotAnObject")
    if data.count(b"{") + data.count(b"[") > _DEPTH_HINT and _depth(value) > MAX_DEPTH:
        raise PoisonRecordError(f"JSON nested deeper than {MAX_DEPTH} levels", payload=data,
                                error_class="TooDeep")
    return Parsed(value)


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk would hit Python's own limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def decode_text(data: bytes) -> tuple[str, bool]:
    """UTF-8 text; invalid bytes become U+FFFD and the record says so."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), True


def _split_first(text: str) -> tuple[str, str]:
    first, _, rest = text.partition("\n")
    return first.rstrip("\r"), rest


def logfmt_fields(data: bytes) -> Parsed:
    """``key=value key2="quoted \\"value\\""``; a line with no pairs is all message."""
    text, bad = decode_text(data)
    first, rest = _split_first(text)
    fields: dict[str, Any] = {}
    for key, value in _LOGFMT_PAIR.findall(first):
        if value.startswith('"') and len(value) >= 2:
            value = _ESCAPE.sub(r"\1", value[1:-1])
        fields[key] = value
    if not fields:
        fields["message"] = first
    return Parsed(fields, rest, bad)


def regex_fields(data: bytes, pattern: re.Pattern[str], *, find_level: bool = False) -> Parsed:
    """Named groups of ``pattern`` on the first line; no match keeps the line as message.

    ``find_level`` (plain): a level not captured right after the timestamp is looked
    for near the start of the message; a syslog ``<PRI>`` gives its severity.
    """
    text, bad = decode_text(data)
    first, rest = _split_first(text)
    match = pattern.match(first)
    if match is None:
        return Parsed({"message": first}, rest, bad, unmatched=True)
    fields = {k: v for k, v in match.groupdict().items() if v is not None}
    if find_level:
        _plain_extras(fields)
    return Parsed(fields, rest, bad)


def _plain_extras(fields: dict[str, Any]) -> None:
    """A level found further in, the syslog ``<PRI>`` severity, syslog's host and program."""
    message = fields.get("message", "")
    if "level" not in fields:
        pri = fields.get("pri")
        level = str(int(pri) % 8) if pri is not None else level_in_text(message)
        if level is not None:
            fields["level"] = level
    if _SYSLOG_STAMP.fullmatch(fields.get("ts", "")):
        head = _SYSLOG_HEAD.match(message)
        if head is not None:
            fields.setdefault("host", head["host"])
            fields.setdefault("service", head["service"])


def logfmt_starts_record(line: bytes) -> bool:
    """A logfmt record starts with ``key=``; anything else continues the previous one."""
    return _LOGFMT_START.match(line.decode("utf-8", "replace")) is not None
