"""Triage reads and writes for the TUI: log patterns new since the suspect change, seen
before, suspect verdicts, export. Every function blocks (call it from a thread worker)
and calls the function the API and the CLI call, so the TUI shows and records the same
thing: :func:`workbench.patterns.shifts.pattern_shifts`,
:func:`workbench.similar.seen_before`, :func:`storage.verdicts.decide`,
:func:`workbench.export.save.save`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from storage.investigations import get_investigation
from storage.patterns import pattern_event_ids
from storage.verdicts import Verdict, VerdictChange, decide
from workbench.export.save import Saved, save
from workbench.patterns.shifts import Shift, Shifts, pattern_shifts
from workbench.similar import Match, seen_before
from workbench.tui.data import Repo

PATTERN_LINES = 500
"""Lines of one pattern a pivot lists (the newest, like ``GET /api/patterns/{id}/events``)."""


def shifts(repo: Repo, investigation_id: int, now: datetime) -> Shifts:
    """Patterns new or surging since the top suspect change (``workbench patterns since``)."""
    with repo.store.read() as session:
        inv = get_investigation(session=session, investigation_id=investigation_id)
        return pattern_shifts(session, inv, settings=repo.suspect_settings, now=now)


def shift_lines(repo: Repo, found: Shifts, shift: Shift) -> tuple[int, ...]:
    """Ids of the pattern's lines after the pivot (all of its lines without a pivot)."""
    with repo.store.read() as session:
        return tuple(pattern_event_ids(session=session, pattern_id=shift.pattern.id,
                                       start=found.pivot, end=found.end, limit=PATTERN_LINES))


def similar(repo: Repo, investigation_id: int, limit: int = 10) -> list[Match]:
    """Past resolved investigations like this one (``workbench similar``)."""
    with repo.store.read() as session:
        inv = get_investigation(session=session, investigation_id=investigation_id)
        return seen_before(session, inv, limit=limit)


def set_verdict(repo: Repo, investigation_id: int, event_id: int, verdict: Verdict | None
                ) -> VerdictChange:
    """Confirm, rule out or clear (``None``) a suspect change; audited as ``tui:<user>``."""
    with repo.store.write() as session:
        change = decide(session=session, investigation_id=investigation_id, event_id=event_id,
                        verdict=verdict, actor=repo.actor, via="tui")
    repo.forget_analysis()
    return change


def export(repo: Repo, investigation_id: int, fmt: str, path: Path, *, audited: bool
           ) -> Saved:
    """Write the investigation as ``fmt`` to ``path`` (``workbench export``); a bundle is
    audited unless the session is read-only."""
    return save(repo.store, investigation_id, fmt, path, actor=repo.actor, via="tui",
                settings=repo.suspect_settings, audited=audited)
