"""The concrete virtualised lists: investigations, events, dead letters, connectors.

Every value that came from data goes through :func:`workbench.sanitize.sanitize_line`
before it becomes part of a row; styles come only from our own tables.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any

from rich.text import Text

from storage.models import DeadLetter, Event, Investigation
from workbench.sanitize import sanitize_line
from workbench.tui.fmt import (
    SEVERITY_SHORT,
    SOURCE_BADGE,
    age,
    day,
    severity_style,
    short_time,
    shown_zone,
    source_style,
    status_style,
    tone,
)
from workbench.tui.widgets.rowview import RowView

Clock = Callable[[], datetime]


def compact_count(n: int) -> str:
    """A count in at most 5 cells, never cut: 99999, 475k, 12.3M (details show it exact)."""
    if n < 100_000:
        return str(n)
    if n < 999_500:
        return f"{n / 1000:.0f}k"
    if n < 99_950_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{round(n / 1_000_000)}M"[:5]


def _cell(value: object, width: int) -> str:
    text = sanitize_line("" if value is None else value, limit=max(width, 1))
    return text[:width].ljust(width)


def _time_title(rows: list[Event], width: int) -> str:
    """``TIME`` (UTC, the default), or the display zone's name: ``TIME CET``, ``CEST``."""
    zone = shown_zone()
    if zone.name == "UTC":
        return "TIME"
    label = zone.label(rows[0].occurred_at if rows else None)
    title = f"TIME {label}"
    return title if len(title) < width else label[:width - 1]


class InvestigationRows(RowView[Investigation]):
    """status · severity · title · service · age · events."""

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        super().__init__(empty_text="no investigations match (N: new, /: filter)", **kwargs)
        self.clock = clock
        self.new_counts: dict[int, int] = {}
        """Investigation id -> linked events since this user last looked (drawn as +N)."""

    def set_new_counts(self, counts: dict[int, int]) -> None:
        """New "+N" marks (a repaint only when they changed)."""
        if counts != self.new_counts:
            self.new_counts = counts
            self._cache.clear()
            self.refresh()

    def row_key(self, row: Investigation) -> Hashable:
        return row.id

    @staticmethod
    def widths(width: int) -> tuple[int, int]:
        """(title width, service width) for ``width`` cells."""
        service = 20 if width >= 120 else 12
        return max(width - 14 - 5 - service - 1 - 6 - 6, 8), service

    def header(self, width: int) -> Text:
        title_w, service_w = self.widths(width - 1)
        return Text(" " + "STATUS".ljust(14) + "SEV".ljust(5) + "TITLE".ljust(title_w + 1)
                    + "SERVICE".ljust(service_w + 1) + "  AGE" + "  EVTS", style="bold")

    def render_row(self, row: Investigation, width: int) -> Text:
        title_w, service_w = self.widths(width)
        text = Text(no_wrap=True, end="")
        text.append(row.status.value.ljust(14), status_style(row.status))
        text.append(SEVERITY_SHORT[row.severity].ljust(5), severity_style(row.severity))
        new = self.new_counts.get(row.id, 0)
        mark = f"+{compact_count(new)} " if new else ""
        text.append(mark, "bold yellow")
        text.append(_cell(row.title, title_w - len(mark)) + " ")
        text.append(_cell(", ".join(row.services), service_w) + " ", "cyan")
        # AGE: since the impact began (what a responder means), else detection, else creation.
        since = row.impact_started_at or row.detected_at or row.created_at
        text.append(age(since, self.clock()).rjust(5) + " ", "dim")
        text.append(compact_count(row.event_count).rjust(5))
        return text


class EventRows(RowView[Event]):
    """time · source badge · severity · service · title, severity-coloured."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(empty_text="no events", **kwargs)
        self.reasons: dict[int, str] = {}
        """Event id -> why it is linked (shown on wide terminals)."""
        self.new_ids: set[int] = set()
        """Events that arrived since the user last looked (drawn with a + marker)."""

    def row_key(self, row: Event) -> Hashable:
        return row.id

    def dated(self) -> bool:
        """Rows show the date on wide views and whenever the loaded rows span days.

        One decision for the header and the rows (they disagreed at 200x60, where the
        header and the rows are measured at different widths)."""
        if self.size.width >= 110:
            return True
        rows = self.rows
        return bool(rows) and day(rows[0].occurred_at) != day(rows[-1].occurred_at)

    def set_rows(self, rows: Iterable[Event], *, has_more: bool = False) -> None:
        """Replace the rows; the column header follows if the date column came or went."""
        before = self.dated()
        super().set_rows(rows, has_more=has_more)
        if self.dated() != before and self.parent is not None:
            for header in self.parent.query("ColumnHeader"):
                header.refresh()

    def header(self, width: int) -> Text:
        time_w = self.head_width(None)
        return Text(" " + _time_title(self.rows, time_w).ljust(time_w) + "SRC " + "SEV  "
                    + "SERVICE".ljust(13) + "TITLE", style="bold")

    def head_width(self, text: Text | None) -> int:
        """The time column, which the cursor paints (in the text's own colour: one style
        run fewer per row, ~11 bytes of each row a scroll rewrites)."""
        return 15 if self.dated() else 9

    def render_row(self, row: Event, width: int) -> Text:
        wide = self.dated()
        text = Text(no_wrap=True, end="")
        text.append(short_time(row.occurred_at, wide) + " ")
        text.append(SOURCE_BADGE[row.source].ljust(4), source_style(row.source))
        text.append(SEVERITY_SHORT[row.severity].ljust(5), severity_style(row.severity))
        text.append(_cell(row.service or "", 12) + " ", "cyan")
        title_style = severity_style(row.severity) if row.severity.rank >= 3 else ""
        marker = "+" if row.id in self.new_ids else ""
        text.append(marker + sanitize_line(row.title, limit=max(width, 20)), title_style)
        reason = self.reasons.get(row.id)
        if wide and reason:
            text.append("  \u2190 " + sanitize_line(reason, limit=60), "dim italic")
        return text


class DeadLetterRows(RowView[DeadLetter]):
    """id · connector · attempts · error class · message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(empty_text="the dead-letter queue is empty", **kwargs)

    def row_key(self, row: DeadLetter) -> Hashable:
        return row.id

    def header(self, width: int) -> Text:
        return Text(" " + "ID".ljust(7) + "CONNECTOR".ljust(15) + "TRIES " + "STATUS".ljust(10)
                    + "ERROR", style="bold")

    def render_row(self, row: DeadLetter, width: int) -> Text:
        text = Text(no_wrap=True, end="")
        text.append(str(row.id).ljust(7), "dim")
        text.append(_cell(row.connector, 14) + " ", "cyan")
        text.append(str(row.attempts).rjust(5) + " ")
        text.append(row.status.value.ljust(10), "yellow" if row.status == "pending" else "dim")
        text.append(_cell(row.error_class, 18) + " ", tone("red"))
        text.append(sanitize_line(row.message, limit=max(width, 20)))
        return text


class ConnectorRows(RowView[dict[str, Any]]):
    """One row per connector from the health snapshot."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(empty_text="no connectors have reported (run `workbench serve` "
                                    "or configure [connectors])", **kwargs)

    def row_key(self, row: dict[str, Any]) -> Hashable:
        return str(row.get("name"))

    def header(self, width: int) -> Text:
        return Text(" " + "CONNECTOR".ljust(17) + "STATE".ljust(10) + "BREAKER".ljust(10)
                    + "IN".rjust(8) + "DEDUP".rjust(7) + "DLQ".rjust(6) + "  LAST ERROR",
                    style="bold")

    def render_row(self, row: dict[str, Any], width: int) -> Text:
        breaker = str(row.get("breaker") or "-")
        style = tone({"closed": "green", "open": "bold red", "half_open": "yellow"}.get(
            breaker.lower(), ""))
        text = Text(no_wrap=True, end="")
        text.append(_cell(row.get("name"), 16) + " ", "bold")
        text.append(_cell(row.get("state") or "-", 9) + " ")
        text.append(_cell(breaker, 9) + " ", style)
        for key, w in (("events_in", 8), ("deduplicated", 7), ("dlq_size", 6)):
            text.append(str(row.get(key, 0) or 0).rjust(w))
        error, warnings = row.get("last_error") or "", list(row.get("warnings") or ())
        if error or not warnings:
            text.append("  " + sanitize_line(error, limit=max(width, 20)), tone("red"))
        else:  # the poll succeeded but skipped something (a git ref with missing objects)
            more = f" (+{len(warnings) - 1} more)" if len(warnings) > 1 else ""
            text.append("  ! " + sanitize_line(warnings[0], limit=max(width, 20)) + more,
                        "yellow")
        return text
