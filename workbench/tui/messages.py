"""Messages the TUI's thread workers post back to the event loop (past tense, small)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from textual.message import Message

if TYPE_CHECKING:
    from storage.models import Event


class Fetched(Message):
    """A blocking call finished; ``then(result)`` runs on the event loop."""

    def __init__(self, then: Callable[[Any], None], result: Any) -> None:
        super().__init__()
        self.then = then
        self.result = result


class FetchFailed(Message):
    """A blocking call raised; ``text`` is shown to the user (already one line)."""

    def __init__(self, text: str, *, then: Callable[[Exception], None] | None = None,
                 error: Exception | None = None) -> None:
        super().__init__()
        self.text = text
        self.then = then
        self.error = error


class StoreChanged(Message):
    """Something was written through the TUI: visible panes should reload."""


class TailPolled(Message):
    """A live poll finished: ``count`` events are newer than what the view shows."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TailPolled)


class TimelineFilterChanged(Message):
    """The user applied a filter on a timeline."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class TagsEditRequested(Message):
    """The user asked to set an event's tags (the screen asks and writes)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class MarkedEventsSubmitted(Message):
    """The user asked to turn marked events into a new investigation (``action`` is
    ``"create"``) or to link them to an existing one (``"link"``). The screen asks,
    writes, and then calls ``done()`` (which clears the marks)."""

    def __init__(self, action: Literal["create", "link"], event_ids: list[int],
                 done: Callable[[], None]) -> None:
        super().__init__()
        self.action = action
        self.event_ids = event_ids
        self.done = done
