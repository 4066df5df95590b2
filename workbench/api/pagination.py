"""Page parameters and page bodies shared by the list routes.

Cursors are the store's opaque keyset cursors; ``limit`` is clamped to the
configured maximum rather than refused, so a client asking for 10,000 gets a full
page and a ``next_cursor``.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from workbench.settings.api import ApiSettings

T = TypeVar("T")

LimitParam = Annotated[int | None, Query(ge=1, le=1_000_000,
                                          description="page size; clamped to the maximum")]
CursorParam = Annotated[str | None, Query(
    max_length=2_048,
    description="opaque cursor from a previous page of the same query; any other value is 422")]


class PageOut(BaseModel, Generic[T]):
    """One page: ``items`` and, when there is more, the cursor to continue with."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    limit: int
    next_cursor: str | None = None
    prev_cursor: str | None = None


def clamp_limit(limit: int | None, settings: ApiSettings) -> int:
    """The page size to use for a requested ``limit``."""
    if limit is None:
        return min(settings.page_limit_default, settings.page_limit_max)
    return max(1, min(limit, settings.page_limit_max))
