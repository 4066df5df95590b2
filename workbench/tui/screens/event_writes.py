"""The writes a timeline asks for (tags, a new investigation, links), done by its screen.

The timeline widget only posts :class:`~workbench.tui.messages.TagsEditRequested` or
:class:`~workbench.tui.messages.MarkedEventsSubmitted`; the screen it sits on asks
the questions and runs the writes through :meth:`BaseScreen.write`, so no widget
reaches the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from storage.models import Event, Investigation
from workbench.tui.filters import Filter
from workbench.tui.screens.modals import ChoiceScreen

if TYPE_CHECKING:
    from textual.app import App

    from workbench.tui.host import ScreenHost

R = TypeVar("R")


class Host(Protocol):
    """What these writes need of a screen (``BaseScreen`` has it; no import of it here:
    it imports this module)."""

    @property
    def wb(self) -> ScreenHost: ...
    @property
    def app(self) -> App[Any]: ...

    def write(self, fn: Callable[[], Any], done: str | None, *,
              after: Callable[[Any], None] | None = None) -> None: ...
    def fetch(self, fn: Callable[[], R], then: Callable[[R], None], *, group: str = "load",
              failed: Callable[[Exception], None] | None = None) -> None: ...
    def ask(self, label: str, value: str, answer: Callable[[str | None], object], *,
            placeholder: str = "") -> None: ...
    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...

OPEN = Filter(terms={"status": ("open", "investigating")})
"""What the link chooser offers."""


def edit_tags(host: Host, event: Event) -> None:
    """Prompt for an event's tags and store them."""

    def save(value: str | None) -> None:
        if value is None:
            return
        tags = [t.strip() for t in value.split(",") if t.strip()]
        host.write(lambda: host.wb.repo.set_tags(event.id, tags), f"tags of event {event.id} set")

    host.ask("Tags (comma-separated):", ", ".join(event.tags), save)


def create_from(host: Host, ids: list[int], done: Callable[[], None]) -> None:
    """Ask a title, then create an investigation from ``ids``."""

    def create(title: str | None) -> None:
        if not title:
            return
        host.write(lambda: host.wb.repo.create(title, ids, author=host.wb.user),
                   f"investigation created from {len(ids)} events", after=lambda _: done())

    host.ask(f"Title of the new investigation ({len(ids)} events):", "", create)


def link_to_chosen(host: Host, ids: list[int], done: Callable[[], None]) -> None:
    """Offer the open investigations, then link ``ids`` to the one chosen."""
    repo = host.wb.repo

    def chosen(value: str | None) -> None:
        if value:
            host.write(lambda: repo.link(int(value), ids, author=host.wb.user),
                       f"linked {len(ids)} events to #{value}", after=lambda _: done())

    def offer(items: list[Investigation]) -> None:
        options = [(str(i.id), f"#{i.id} {i.status.value} {i.title}") for i in items]
        if not options:
            host.notify("no open investigation to link to (C creates one)")
            return
        host.app.push_screen(ChoiceScreen(f"Link {len(ids)} events to", options), chosen)

    host.fetch(lambda: repo.investigations(OPEN, sort="updated_at", limit=50), offer)
