"""``workbench ingest FILE...``: bulk import of JSON Lines events.

Good lines are stored in batches (one transaction each, idempotent by dedup key,
so a re-run or a run after a crash adds nothing twice). Every bad line is reported
with its line number and reason and kept in the DLQ under connector ``import``.
Exit status: 0 all lines good, 1 some lines bad (or in conflict with a stored event
of the same dedup key), 2 a file could not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from workbench.cli.main import open_store

if TYPE_CHECKING:
    from storage import NewDeadLetter, NewEvent, Store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "ingest", help="import events from JSON Lines files (bad lines go to the DLQ)")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--batch-size", type=int, default=1000, metavar="N",
                        help="events per transaction (default 1000)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no per-line errors")
    parser.set_defaults(handler=_run)


@dataclass
class Totals:
    """What one file's import did."""

    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    bad: int = 0


def _run(args: argparse.Namespace) -> int:
    store = open_store(args)
    status = 0
    try:
        for path in args.files:
            try:
                totals = _import_file(store, path, args.batch_size, quiet=args.quiet)
            except OSError as exc:
                sys.stderr.write(f"{path}: cannot read: {exc.strerror or exc}\n")
                status = 2
                continue
            sys.stdout.write(f"{path}: {totals.lines} lines, {totals.stored} stored, "
                             f"{totals.duplicates} already present, {totals.bad} bad"
                             f"{' (kept in the DLQ as connector import)' if totals.bad else ''}"
                             f"{_conflicts(totals.conflicts)}\n")
            if (totals.bad or totals.conflicts) and status == 0:
                status = 1
    finally:
        store.close()
    return status


def _import_file(store: Store, path: Path, batch_size: int, *, quiet: bool) -> Totals:
    from connectors.errors import PoisonRecordError
    from connectors.jsonl import parse_line

    totals = Totals()
    events: list[NewEvent] = []
    letters: list[NewDeadLetter] = []
    with path.open("rb") as handle, _progress(handle, path, quiet=quiet) as advance:
        for number, raw in enumerate(handle, start=1):
            advance(len(raw))
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            totals.lines += 1
            try:
                events.append(parse_line(line))
            except PoisonRecordError as exc:
                letters.append(_bad_line(path, number, exc, exc.payload, exc.error_class,
                                         totals, quiet=quiet))
            except Exception as exc:  # noqa: BLE001 - one line must never take its batch down
                letters.append(_bad_line(path, number, exc, line, type(exc).__name__, totals,
                                         quiet=quiet))
            if len(events) + len(letters) >= batch_size:
                _flush(store, events, letters, totals)
        _flush(store, events, letters, totals)
    return totals


def _bad_line(path: Path, number: int, exc: Exception, payload: bytes, error_class: str,
              totals: Totals, *, quiet: bool) -> NewDeadLetter:
    """Count and report one bad line; the dead letter that keeps it."""
    from connectors.jsonl import CONNECTOR
    from storage import NewDeadLetter

    totals.bad += 1
    if not quiet:
        sys.stderr.write(f"{path}:{number}: {exc}\n")
    return NewDeadLetter(connector=CONNECTOR, payload=payload, error_class=error_class,
                         message=f"line {number}: {exc}"[:8192], source_ref=f"{path}:{number}")


def _flush(store: Store, events: list[NewEvent], letters: list[NewDeadLetter],
           totals: Totals) -> None:
    from storage import audit
    from storage.ingest import ingest
    from workbench.cli.main import cli_actor

    if not events and not letters:
        return
    with store.write() as session:
        result = ingest(session=session, events=events, dead_letters=letters,
                        report_conflicts=True)
        if result.stored:                   # a re-run that stores nothing: no row
            audit.record(session=session, actor=cli_actor(), action="events.ingest",
                         detail={"received": result.received, "stored": result.stored,
                                 "dead_lettered": result.dead_lettered, "via": "cli"})
    totals.stored += result.stored
    totals.duplicates += result.deduplicated
    totals.conflicts += result.conflicting
    events.clear()
    letters.clear()


def _conflicts(count: int) -> str:
    if not count:
        return ""
    return (f"; {count} of those already present differ from the stored event with the "
            "same dedup key (both versions kept in the DLQ as connector dedup-conflict)")


@contextmanager
def _progress(handle: IO[bytes], path: Path, *, quiet: bool) -> Iterator[Any]:
    """A byte-based progress bar on stderr when it is a terminal; otherwise a no-op."""
    if quiet or not sys.stderr.isatty():
        yield lambda _n: None
        return
    from rich.progress import Progress

    size = path.stat().st_size
    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task(f"importing {path.name}", total=size)
        yield lambda n: progress.advance(task, n)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)
