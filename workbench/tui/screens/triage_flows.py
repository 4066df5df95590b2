"""Key flows of the investigation screen that end in a write or a file.

- ``V`` (verdict): choose a ranked suspect change (``Enter``), then confirm it as the
  cause, rule it out or clear its verdict -- applied only with ``ctrl+y`` like every
  write, and audited as ``tui:<user>`` through :func:`storage.verdicts.decide`.
- ``x`` (export): choose a format (``Enter``), edit the file name in the ask bar
  (``Enter``); a file that exists is replaced only after ``ctrl+y``. The file is
  written by :func:`workbench.export.save.save`, the same bytes ``workbench export``
  writes; a bundle export is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from storage.verdicts import Verdict
from workbench.export.save import Saved, default_name
from workbench.sanitize import sanitize_line
from workbench.tui import triage_data
from workbench.tui.screens.base import BaseScreen
from workbench.tui.screens.modals import ChoiceScreen, ConfirmScreen
from workbench.tui.widgets.detail import verdict_label

VERDICTS = (("confirmed", "confirm: the cause (it becomes the root cause)"),
            ("ruled_out", "rule out: not the cause"),
            ("clear", "clear the verdict"))
FORMATS = (("jsonl", "JSONL: the events, as `workbench ingest` reads them"),
           ("csv", "CSV: the events in Timesketch's import columns"),
           ("bundle", "bundle: investigation, events, links, notes, verdicts"),
           ("postmortem", "postmortem draft (Markdown)"))
def choose_suspect(screen: BaseScreen, investigation_id: int, suspects: Sequence[Any],
                   then: Callable[[], None]) -> None:
    """Which suspect change the verdict is about (a chooser that only navigates);
    ``then`` runs once a verdict was written."""
    if not suspects:
        screen.notify("no ranked suspect change yet (they are ranked in the background)")
        return
    options = []
    for rank, suspect in enumerate(suspects, 1):
        event = suspect.event
        label = (f"{rank}. {event.kind.value} {event.service or '-'}: {event.title} "
                 f"{verdict_label(suspect)}")
        options.append((str(event.id), sanitize_line(label, limit=90)))

    def chosen(value: str | None) -> None:
        suspect = next((s for s in suspects if str(s.event.id) == value), None)
        if suspect is not None:
            _choose_verdict(screen, investigation_id, suspect, then)

    screen.app.push_screen(ChoiceScreen("Verdict on which change? (Enter)", options,
                                        writes=False), chosen)


def _choose_verdict(screen: BaseScreen, investigation_id: int, suspect: Any,
                    then: Callable[[], None]) -> None:
    event = suspect.event
    title = sanitize_line(f"{event.kind.value} {event.service or '-'}: {event.title}",
                          limit=70)

    def chosen(value: str | None) -> None:
        if value is None:
            return
        verdict = None if value == "clear" else Verdict(value)
        repo = screen.wb.repo
        screen.write(lambda: triage_data.set_verdict(repo, investigation_id, event.id, verdict),
                     f"verdict on event {event.id}: {value.replace('_', ' ')}",
                     after=lambda _change: then())

    screen.app.push_screen(ChoiceScreen(f"{title} {verdict_label(suspect)}", VERDICTS),
                           chosen)


def choose_export(screen: BaseScreen, investigation_id: int) -> None:
    """Format, then file name, then (if it exists) ``ctrl+y`` to replace it."""

    def chosen(fmt: str | None) -> None:
        if fmt is not None:
            screen.ask(f"Export {fmt} to file:", default_name(investigation_id, fmt),
                       lambda name: _to_file(screen, investigation_id, fmt, name))

    screen.app.push_screen(ChoiceScreen(f"Export #{investigation_id} as (Enter)", FORMATS,
                                        writes=False), chosen)


def _to_file(screen: BaseScreen, investigation_id: int, fmt: str,
             name: str | None) -> None:
    if not name or not name.strip():
        return
    path = Path(name.strip()).expanduser()
    if not path.parent.is_dir():
        screen.notify(f"no such directory: {sanitize_line(str(path.parent), limit=200)}",
                      severity="error", markup=False)
        return
    if path.is_dir():
        screen.notify(f"{sanitize_line(str(path), limit=200)} is a directory",
                      severity="error", markup=False)
        return
    if path.exists():
        screen.app.push_screen(
            ConfirmScreen(f"{sanitize_line(str(path), limit=200)} exists. Replace it?"),
            lambda yes: _export(screen, investigation_id, fmt, path) if yes else None)
        return
    _export(screen, investigation_id, fmt, path)


def _export(screen: BaseScreen, investigation_id: int, fmt: str, path: Path) -> None:
    repo, audited = screen.wb.repo, not screen.wb.read_only
    screen.notify(f"exporting #{investigation_id} as {fmt}\u2026")

    def done(saved: Saved) -> None:
        note = ", audited" if saved.audited else ""
        screen.notify(f"wrote {sanitize_line(str(saved.path), limit=200)} "
                      f"({saved.size:,} bytes{note})", markup=False)

    screen.fetch(lambda: triage_data.export(repo, investigation_id, fmt, path, audited=audited),
                 done, group="export")
