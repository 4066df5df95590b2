"""The span shape every trace source decodes into (OTLP protobuf/JSON, Jaeger)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HEX = frozenset("0123456789abcdef")


@dataclass(slots=True)
class Span:
    """One span, with ids as lower-case hex and times in unix nanoseconds.

    ``attributes`` and ``exceptions`` are only filled for spans that need them
    (errors), to keep decoding a million healthy spans cheap.
    """

    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    name: str
    start_ns: int
    end_ns: int
    error: bool = False
    status_message: str = ""
    environment: str | None = None
    version: str | None = None
    """``service.version`` of the resource (the deploy a span ran in)."""
    attributes: dict[str, Any] | None = None
    exceptions: list[dict[str, str]] | None = None

    @property
    def duration_ns(self) -> int:
        """End minus start (never negative: clocks of bad senders go backwards)."""
        return max(0, self.end_ns - self.start_ns)


ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment", "environment",
                    "env")
"""Resource attributes naming the environment, current semantic conventions first
(``deployment.environment.name`` since 1.27, ``deployment.environment`` before)."""
VERSION_KEYS = ("service.version",)


def resource_fields(attributes: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(environment, service version)`` from resource attributes or process tags."""
    return _first(attributes, ENVIRONMENT_KEYS), _first(attributes, VERSION_KEYS)


def _first(attributes: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if value not in (None, ""):
            return str(value)[:256]
    return None


class InvalidSpanIdError(ValueError):
    """A trace or span id that is not 16/8 bytes, or is all zeros."""


def pad_hex_id(value: str, size: int, what: str) -> str:
    """A hex id printed without its leading zeros (older Jaeger), left-padded to
    ``size`` bytes; longer than that or not hex is invalid."""
    if 0 < len(value) < size * 2:
        value = value.rjust(size * 2, "0")
    return check_hex_id(value, size, what)


def check_hex_id(value: str, size: int, what: str) -> str:
    """Validate a hex id of ``size`` bytes; return it lower-cased."""
    lowered = value.lower()
    if len(lowered) != size * 2 or not HEX.issuperset(lowered) or not lowered.strip("0"):
        raise InvalidSpanIdError(f"invalid {what} {value[:80]!r}: want {size * 2} hex digits, "
                                 "not all zero")
    return lowered


ZEROS = {8: bytes(8), 16: bytes(16)}


def check_bytes_id(value: bytes, size: int, what: str) -> str:
    """Validate a binary id of ``size`` bytes; return it as hex."""
    if len(value) != size or value == ZEROS[size]:
        raise InvalidSpanIdError(f"invalid {what}: {len(value)} bytes (want {size}, not all zero)")
    return value.hex()
