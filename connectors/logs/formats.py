"""Record bytes -> a flat field dict, per log format (pure).

JSON formats must be one object per line. Text formats (logfmt, regex, plain) read
their fields from the first line; further lines of a joined record (a stack trace)
are returned as the continuation text.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import orjson

from connectors.errors import PoisonRecordError

PLAIN_PATTERN = (
    r"^(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+"
    r"(?:\[?(?P<level>(?i:trace|debug|info|notice|warn|warning|error|err|crit|critical|"
    r"fatal|panic|alert|emerg))\]?:?\s+)?(?P<message>.*)$"
)
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


def json_fields(data: bytes) -> Parsed:
    """One JSON object; anything else is a poison record with a clear reason."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
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


def regex_fields(data: bytes, pattern: re.Pattern[str]) -> Parsed:
    """Named groups of ``pattern`` on the first line; no match keeps the line as message."""
    text, bad = decode_text(data)
    first, rest = _split_first(text)
    match = pattern.match(first)
    if match is None:
        return Parsed({"message": first}, rest, bad)
    fields = {k: v for k, v in match.groupdict().items() if v is not None}
    return Parsed(fields, rest, bad)


def logfmt_starts_record(line: bytes) -> bool:
    """A logfmt record starts with ``key=``; anything else continues the previous one."""
    return _LOGFMT_START.match(line.decode("utf-8", "replace")) is not None
