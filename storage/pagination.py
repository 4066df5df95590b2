"""Opaque keyset cursors.

A cursor is URL-safe base64 of a small JSON array: the sort key values of the row
it points after, and the direction to read. Clients treat it as opaque; a
tampered or foreign cursor gives :class:`InvalidCursorError`, never a query.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from storage.models import MAX_ID, _utc


class InvalidCursorError(ValueError):
    """A cursor that this store did not issue, or one for another ordering."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """A decoded cursor: the key of the boundary row and whether to read backwards."""

    key: tuple[Any, ...]
    backward: bool = False

    def encode(self) -> str:
        """The opaque string form."""
        raw = orjson.dumps([list(self.key), self.backward])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, arity: int) -> Cursor:
        """Parse a cursor whose key has ``arity`` values."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            key, backward = orjson.loads(raw)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise InvalidCursorError("cursor is not valid") from exc
        if not isinstance(key, list) or len(key) != arity or not isinstance(backward, bool):
            raise InvalidCursorError("cursor does not match this query")
        if not all(isinstance(v, str | int | float) for v in key):
            raise InvalidCursorError("cursor does not match this query")
        return cls(tuple(key), backward)


def int_value(value: Any) -> int:
    """An integer key value from a decoded cursor; anything else is a foreign cursor.

    Ids and severities are 64-bit at most: a larger value was never issued, and
    binding it would fail in the driver rather than match nothing.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_ID <= value <= MAX_ID:
        raise InvalidCursorError("cursor does not match this query")
    return value


def str_value(value: Any) -> str:
    """A text key value from a decoded cursor; anything else is a foreign cursor."""
    # Stored text never holds NUL (storage.models replaces it), and PostgreSQL refuses it.
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidCursorError("cursor does not match this query")
    return value


def time_value(value: Any) -> datetime:
    """A tz-aware UTC time key from a decoded cursor (cursors carry ISO strings)."""
    if not isinstance(value, str):
        raise InvalidCursorError("cursor does not match this query")
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError as exc:  # not ISO, naive, or outside the range that converts to UTC
        raise InvalidCursorError("cursor does not match this query") from exc
