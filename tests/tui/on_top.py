"""The screen on top of a test's app, as the kind the test expects (checked)."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.screen import Screen

from workbench.tui.app import WorkbenchApp

S = TypeVar("S", bound=Screen[Any])


def screen_as(app: WorkbenchApp, kind: type[S]) -> S:
    """``app.screen`` if it is a ``kind``; an assertion error naming both if not."""
    screen = app.screen
    assert isinstance(screen, kind), f"{kind.__name__} expected on top, {type(screen).__name__} is"
    return screen


T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, asserted to be there (a timeline's current row, a loaded event)."""
    assert value is not None, "expected a value, found None"
    return value
