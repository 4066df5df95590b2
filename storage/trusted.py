"""Trusted construction of event models: validated once, at the boundary.

:func:`builder` is the one way the store makes a model without pydantic's validation:
new events that a connector already normalised (:func:`trusted_event`) and stored
events read back from rows the store wrote (``storage.converters``). Both are tested
equal, field by field and in which fields count as set, to the validated constructor.

A connector that has already parsed and normalised a record (enum members, a UTC
datetime, strings cut to their limits) need not pay for pydantic re-checking every
field: about a fifth of the JSON-log connector's per-line cost went there. This
module checks the same invariants the model's validators enforce, with plain
``type() is`` tests, and builds the model without validation when they hold.
Anything unusual (a NUL to replace, a subclass, an oversized or wrong-typed value)
falls back to the validated constructor, so the result, or the error, is always the
one ``NewEvent(**fields)`` gives (a property test checks this on random inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from storage.jsonsafe import encode_checked
from storage.models import (
    MAX_ATTRIBUTES_BYTES,
    MAX_BODY,
    MAX_SHORT,
    MAX_TAGS,
    MAX_TITLE,
    EventKind,
    NewEvent,
    Severity,
    Source,
)

_FIELDS = frozenset(NewEvent.model_fields)
# Each text field and its longest length (``Field(max_length=...)`` in the model).
_LIMITS = (("title", MAX_TITLE), ("body", MAX_BODY), *((name, MAX_SHORT) for name in (
    "service", "environment", "host", "trace_id", "span_id", "commit_sha")),
    ("url", 4096), ("dedup_key", 512))
_DEFAULTS: dict[str, Any] = {
    name: info.default for name, info in NewEvent.model_fields.items() if not info.is_required()}
_set = object.__setattr__
# pydantic's per-instance slots, set through their descriptors (no attribute lookup).
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
M = TypeVar("M", bound=BaseModel)


def builder(cls: type[M]) -> Callable[[dict[str, Any], set[str]], M]:
    """How to make a ``cls`` from ``values`` (every field, already what validation
    would give) and ``fields_set`` without running validation: the state
    ``cls(**values)`` leaves, set directly.

    ``values`` becomes the model's ``__dict__`` (not copied); ``fields_set`` may be
    shared between models (a frozen model never adds to it, ``model_copy`` copies it).
    ``cls`` may have no private attributes and allow no extras (the store's models do
    not). The one way the store builds models unvalidated (see the module docstring).
    """
    new = cls.__new__

    def build(values: dict[str, Any], fields_set: set[str]) -> M:
        model: M = new(cls)
        _set(model, "__dict__", values)
        _set_fields_set(model, fields_set)
        _set_extra(model, None)
        _set_private(model, None)
        return model

    return build


_new_event = builder(NewEvent)


def trusted_event(**fields: Any) -> NewEvent:
    """``NewEvent(**fields)`` without re-validation when every field is already sound.

    Raises what the validated constructor raises (``pydantic.ValidationError``, a
    ``ValueError``) for fields that break a rule.
    """
    if not _sound(fields):
        return NewEvent(**fields)
    values = _DEFAULTS.copy()
    values.update(fields)
    if "attributes" not in fields:
        values["attributes"] = {}  # a fresh dict per event, as the default factory gives
    return _new_event(values, set(fields))


def _sound(fields: dict[str, Any]) -> bool:
    """Whether the validators would accept ``fields`` unchanged."""
    get = fields.get
    if not _FIELDS.issuperset(fields) or type(get("source")) is not Source \
            or type(get("kind")) is not EventKind \
            or type(get("severity", Severity.INFO)) is not Severity:
        return False
    when = get("occurred_at")
    if type(when) is not datetime or when.tzinfo is not UTC:
        return False
    if not get("title") or get("body", "") is None or get("dedup_key") == "":
        return False
    for name, limit in _LIMITS:
        value = get(name)
        if value is not None and (type(value) is not str or len(value) > limit
                                  or "\x00" in value
                                  or not (value.isascii() or _encodes(value))):
            return False
    tags = get("tags", ())
    if type(tags) is not tuple or len(tags) > MAX_TAGS \
            or not all(type(tag) is str and len(tag) <= MAX_SHORT and "\x00" not in tag
                       and (tag.isascii() or _encodes(tag)) for tag in tags):
        return False
    return _attributes_sound(get("attributes", {}))


def _encodes(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _attributes_sound(attributes: Any) -> bool:
    if type(attributes) is not dict:
        return False
    if not attributes:
        return True
    try:
        encode_checked(attributes, "attributes", MAX_ATTRIBUTES_BYTES)
    except ValueError:
        return False  # the validated path raises the error, naming the field
    # Keys: orjson accepted them, so they are str (str subclasses too, which pydantic
    # would turn into plain str: leave those to it).
    return all(type(key) is str for key in attributes)
