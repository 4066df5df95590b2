"""Textual's footer, recomposed once per change of the keys it shows.

Textual's ``Footer`` recomposes on every ``bindings_updated`` signal of its screen, and
a screen sends several when it is pushed and takes focus: 17 recomposes between Enter
on the list and the investigation's top suspect, each mounting and restyling every key
again -- about a third of the CPU of that step (issue 11: launch to suspect, profiled).
This one schedules at most one recompose at a time and skips it when the keys, their
labels and their enabled state are what is already shown.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    """A ``Footer`` that recomposes only when what it shows changes."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = False
        self._shown: tuple[Any, ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Textual's handler, coalesced: one recompose after the refresh, if needed."""
        self._bindings_ready = True
        if not screen.app.app_focus or self._pending:
            return
        if self.is_attached and screen is self.screen:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        shown = self._keys_shown()
        if shown == self._shown:
            return
        self._shown = shown
        await self.recompose()

    def _keys_shown(self) -> tuple[Any, ...]:
        """What ``Footer.compose`` reads: each active binding's key, label and state
        (hidden ones too: the command palette's key is one)."""
        return tuple((key, binding.action, binding.description, binding.show, binding.group,
                      self.app.get_key_display(binding), enabled, tooltip)
                     for key, (_, binding, enabled, tooltip)
                     in self.screen.active_bindings.items())
