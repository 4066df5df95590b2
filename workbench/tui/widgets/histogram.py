"""Events over time by source, as one sparkline per source (one combined line when short)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from storage.models import Source
from workbench.tui.fmt import SOURCE_BADGE, source_style

BLOCKS = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def _spark(counts: list[int], peak: int) -> str:
    if peak <= 0:
        return " " * len(counts)
    return "".join(BLOCKS[0 if n == 0 else max(1, round(n / peak * 8))] for n in counts)


class Histogram(Widget):
    """A sparkline per source over the timeline's window."""

    DEFAULT_CSS = """
    Histogram { height: auto; max-height: 7; padding: 0 1; }
    Histogram.-compact { max-height: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.start: datetime | None = None
        self.bucket_seconds = 60
        self.series: list[tuple[datetime, str, int]] = []

    def show(self, start: datetime | None, bucket_seconds: int,
             series: list[tuple[datetime, str, int]]) -> None:
        """Replace the data and redraw (nothing happens when it is the same)."""
        if (start, bucket_seconds, series) == (self.start, self.bucket_seconds, self.series):
            return
        self.start, self.bucket_seconds, self.series = start, bucket_seconds, series
        self.refresh(layout=True)

    def _buckets(self, width: int) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = defaultdict(lambda: [0] * width)
        if self.start is None:
            return rows
        for when, source, count in self.series:
            index = int((when - self.start).total_seconds() // self.bucket_seconds)
            if 0 <= index < width:
                rows[source][index] += count
        return rows

    def render(self) -> Text:
        width = max(self.size.width - 6, 1)
        rows = self._buckets(width)
        if not rows:
            return Text("histogram: no events in this window", style="dim")
        if self.has_class("-compact"):
            totals = [sum(col) for col in zip(*rows.values(), strict=True)]
            return Text("all  ", style="bold") + Text(_spark(totals, max(totals)))
        peak = max(max(r) for r in rows.values())
        text = Text(no_wrap=True)
        for source in Source:
            counts = rows.get(source.value)
            if counts is None:
                continue
            text.append(SOURCE_BADGE[source].ljust(5), source_style(source))
            text.append(_spark(counts, peak) + "\n", source_style(source))
        text.rstrip()
        return text
