"""Rows of the triage screens: log patterns that shifted, past investigations alike.

Every value from data goes through :func:`workbench.sanitize.sanitize_line`; styles come
only from our own tables.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from rich.text import Text

from workbench.patterns.shifts import Shift
from workbench.sanitize import sanitize_line
from workbench.similar import Match
from workbench.tui.fmt import short_time, stamp, status_style, tone
from workbench.tui.widgets.rowview import RowView

STATUS_STYLE_OF_SHIFT = {"new": "bold red", "surging": "yellow"}
SHORT_STATUS = {"new": "NEW", "surging": "SURG"}


def _cell(value: object, width: int) -> str:
    text = sanitize_line("" if value is None else value, limit=max(width, 1))
    return text[:width].ljust(width)


class PatternRows(RowView[Shift]):
    """status · lines before → after · first seen · service · template."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(empty_text="no log pattern is new or surging since the pivot "
                                    "(are patterns mined? `workbench patterns mine`)", **kwargs)

    def row_key(self, row: Shift) -> Hashable:
        return row.pattern.id

    def search_text(self, row: Shift) -> str:
        return f"{row.status} {row.pattern.service or ''} {row.pattern.template}"

    def header(self, width: int) -> Text:
        first = "FIRST SEEN".ljust(12) if width >= 110 else "FIRST "
        return Text(" " + "STAT " + "BEFORE\u2192AFTER " + first + "SERVICE".ljust(11)
                    + "TEMPLATE", style="bold")

    def render_row(self, row: Shift, width: int) -> Text:
        text = Text(no_wrap=True, end="")
        text.append(SHORT_STATUS.get(row.status, row.status[:4]).ljust(5),
                    tone(STATUS_STYLE_OF_SHIFT.get(row.status, "")))
        text.append(f"{row.before:>6}\u2192{row.after:<5} ", "bold")
        # Narrow: the time of day only (the caption says the day and the zone).
        first = short_time(row.pattern.first_seen, width >= 110)[:-3]
        text.append(first + " ", "dim")
        text.append(_cell(row.pattern.service or "-", 10) + " ", "cyan")
        text.append(sanitize_line(row.pattern.template, limit=max(width, 20)))
        return text


class SimilarRows(RowView[Match]):
    """id · score · resolved on · title."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(empty_text="nothing like it among the resolved investigations",
                         **kwargs)

    def row_key(self, row: Match) -> Hashable:
        return row.investigation.id

    def search_text(self, row: Match) -> str:
        inv = row.investigation
        return f"{inv.title} {inv.root_cause or ''} {' '.join(row.reasons)}"

    def header(self, width: int) -> Text:
        return Text(" " + "ID".ljust(7) + "SCORE " + "RESOLVED".ljust(11) + "TITLE",
                    style="bold")

    def render_row(self, row: Match, width: int) -> Text:
        inv = row.investigation
        text = Text(no_wrap=True, end="")
        text.append(_cell(f"#{inv.id}", 6) + " ", "bold")
        text.append(f"{row.score:5.2f} ", "yellow")
        resolved = stamp(inv.resolved_at)[:10] if inv.resolved_at else inv.status.value
        text.append(resolved.ljust(11), status_style(inv.status))
        text.append(sanitize_line(inv.title, limit=max(width, 20)))
        return text
