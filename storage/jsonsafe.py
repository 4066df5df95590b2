"""What a JSON value in the store may hold: the same rule on every path.

Attributes and metadata arrive from the API (stdlib ``json``), from ``workbench
ingest`` and from connectors (``orjson``). Each parser maps the edges differently:
``1e999`` becomes ``inf`` (then ``null`` when stored) in one and an error in
another, ``2**70`` an exact int in one and a rounded float in the other. So the
stored value is checked once, whatever parsed it: integers must fit 64 bits, floats
must be finite, nesting is bounded. A value that breaks a rule is an error naming
where it is, never a silent change.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays (orjson itself stops at 254, with a crash)."""
MIN_INT = -(2**63)
MAX_INT = 2**64 - 1
"""The integers orjson (and so the store) can write exactly."""


Crumbs = tuple[Any, ...]
"""``(parent crumbs, key)``: where a value is, rendered only when it is wrong."""


def check_json_value(value: Any, where: str) -> None:
    """Raise ``ValueError`` naming the path if ``value`` cannot be stored exactly as JSON."""
    stack: list[tuple[Any, int, Crumbs]] = [(value, 0, ((), where))]
    while stack:
        item, depth, crumbs = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:  # most values: nothing to check
            continue
        if isinstance(item, dict):
            children: Any = item.items()
        elif isinstance(item, list | tuple):
            children = enumerate(item)
        elif isinstance(item, int) and not isinstance(item, bool) and \
                not MIN_INT <= item <= MAX_INT:
            raise ValueError(f"{_path(crumbs)}: integer {item} does not fit in 64 bits")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{_path(crumbs)}: {item} is not a finite number; "
                             "JSON cannot hold it")
        else:
            continue
        if depth >= MAX_DEPTH:
            raise ValueError(f"{_path(crumbs)}: nested deeper than {MAX_DEPTH} levels")
        stack.extend([(child, depth + 1, (crumbs, key)) for key, child in children
                      if type(child) is not str])


def _path(crumbs: Crumbs) -> str:
    keys: list[str] = []
    while crumbs:
        crumbs, key = crumbs
        keys.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(keys)).lstrip(".")


_LONG_NUMBER = re.compile(rb"\d{19}")
"""19 digits or more: where an integer may be outside 64 bits (orjson makes it a float)."""


def loads_exact(raw: bytes) -> Any:
    """Parse JSON keeping every integer exact, as the API's parser does.

    orjson (fast) reads an integer beyond 64 bits as a rounded float; only a text
    with a long run of digits can hold one, and that rare text is parsed again with
    the standard library, whose ints are exact (:func:`check_json_value` then refuses
    what the store cannot hold). Raises ``ValueError`` for text that is not JSON.
    """
    data = orjson.loads(raw)
    if _LONG_NUMBER.search(raw):
        return json.loads(raw)
    return data


def encode_checked(value: dict[str, Any], where: str, max_bytes: int) -> bytes:
    """``value`` as sorted-key JSON, after the :func:`check_json_value` rules.

    The full walk is skipped when the encoding itself proves the value sound: orjson
    refuses integers beyond 64 bits and lone surrogates, and writes a non-finite float
    as ``null``; so a text with no ``null`` and fewer brackets than :data:`MAX_DEPTH`
    (brackets inside strings only make this stricter) needs no walk. Raises
    ``ValueError`` naming the fault, as :func:`check_json_value` does.
    """
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # an int beyond 64 bits is named by the walk; others here
        check_json_value(value, where)
        raise ValueError(f"{where} cannot be stored as JSON: {exc}") from exc
    if b"null" in encoded or encoded.count(b"{") + encoded.count(b"[") >= MAX_DEPTH:
        check_json_value(value, where)
    if len(encoded) > max_bytes:
        raise ValueError(f"{where} exceed {max_bytes} bytes when encoded")
    return encoded
