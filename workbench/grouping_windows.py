"""Maintenance windows in a grouping pass: which alerts a planned change holds back.

An alert or anomaly inside a window (its service, its environment if the window names
one, its time) is stored as usual but neither grouped nor auto-opened; the pass hands
it to its sink as *suppressed*, and the store marks it with the window's name
(:mod:`storage.maintenance`). Other events (logs, spans, changes) group as always: a
window mutes the alarms of a planned change, not its evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from storage.maintenance import Window, overlapping
from storage.models import Event
from workbench.grouping_threshold import OPENING_KINDS


class Windows:
    """The windows that overlap one batch of events."""

    def __init__(self, session: Session, events: Sequence[Event],
                 extra: Sequence[Window] = ()) -> None:
        alerts = [e for e in events if e.kind in OPENING_KINDS]
        self.windows = overlapping(session=session, start=min(e.occurred_at for e in alerts),
                                   end=max(e.occurred_at for e in alerts),
                                   extra=extra) if alerts else []

    def covering(self, event: Event) -> Window | None:
        """The first window that holds ``event`` back, if any."""
        if event.kind not in OPENING_KINDS:
            return None
        return next((w for w in self.windows if w.covers(event)), None)
