"""An investigation's timeline as JSON Lines (the import format) or Timesketch CSV.

Both walk the linked events in time order, a keyset page at a time, through the one
event query (``EventQuery.investigation_id``), so an export of half a million events
holds one page in memory.

- **JSONL** is exactly what ``workbench ingest`` reads: the event fields with their
  dedup key, so importing the export into any store stores each event once. Every
  line goes through :func:`~workbench.sanitize.json_safe` (lossless: a parser reads
  the escapes back as the same characters), so it is safe on a terminal too.
- **CSV** follows Timesketch's documented import columns: ``message``, ``datetime``
  (ISO 8601 with offset), ``timestamp_desc``, then attributes (``timestamp`` in
  microseconds, as its examples carry it, and this event's fields). Cells go through
  :func:`~workbench.sanitize.sanitize` (escape sequences, C0/C1 controls and bidi
  overrides made visible) unless ``raw`` is asked for -- CSV has no lossless escape.
  A text cell that a spreadsheet would read as a formula (it begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return) is neutralised as OWASP's "CSV Injection"
  page recommends, with a leading ``'``: a log line such as ``=HYPERLINK(...)`` stays
  text when a responder opens the export. ``raw`` keeps cells exactly as stored.
  Rows end with CRLF, as RFC 4180 has them, and a cell with a line break in it (CR,
  LF or both) is quoted: a CSV reader reads each row back whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from storage.models import Event, EventKind
from storage.queries import MAX_PAGE, EventQuery
from storage.store import Store
from workbench.sanitize import json_safe, sanitize

FORMATS = ("jsonl", "csv")
TIMESTAMP_DESC = "Event time"
"""What ``datetime`` is, in Timesketch's words: when the event occurred at its source."""
CSV_COLUMNS = ("message", "datetime", "timestamp_desc", "timestamp", "source", "kind",
               "severity", "service", "environment", "host", "trace_id", "span_id",
               "commit_sha", "url", "tags", "body", "attributes", "dedup_key", "event_id")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet evaluate a cell (OWASP, "CSV Injection")."""
_NUMBERS = frozenset({CSV_COLUMNS.index("timestamp"), CSV_COLUMNS.index("event_id")})
"""Columns this exporter writes as integers (a timestamp before 1970 is negative): not
text from the event, so not neutralised."""


def formula_safe(cell: str) -> str:
    """``cell`` with a leading ``'`` if a spreadsheet would take it for a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def timeline(store: Store, investigation_id: int, *, page: int = MAX_PAGE,
             kinds: tuple[EventKind, ...] = ()) -> Iterator[Event]:
    """The investigation's linked events (of ``kinds``, if given), oldest first, one store
    read per page."""
    cursor: str | None = None
    while True:
        result = store.list_events(EventQuery(investigation_id=investigation_id, order="asc",
                                              kinds=kinds, limit=page, cursor=cursor))
        yield from result.items
        cursor = result.next_cursor
        if cursor is None:
            return


def import_record(event: Event) -> dict[str, Any]:
    """The event as ``workbench ingest`` reads it (no store id, no receive time)."""
    record = dict(event.__dict__)
    del record["id"], record["received_at"]
    return record


def jsonl_line(event: Event) -> bytes:
    """One JSON Lines record (newline included), terminal-safe and lossless."""
    return json_safe(orjson.dumps(import_record(event))) + b"\n"


def microseconds(moment: datetime) -> int:
    """Microseconds since the epoch, Timesketch's ``timestamp`` unit."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def csv_row(event: Event, *, raw: bool = False) -> list[str]:
    """One CSV row in :data:`CSV_COLUMNS` order."""
    cells = [event.title, event.occurred_at.isoformat(), TIMESTAMP_DESC,
             str(microseconds(event.occurred_at)), event.source.value, event.kind.value,
             event.severity.value, event.service or "", event.environment or "",
             event.host or "", event.trace_id or "", event.span_id or "",
             event.commit_sha or "", event.url or "", ",".join(event.tags), event.body,
             orjson.dumps(event.attributes, option=orjson.OPT_SORT_KEYS).decode(),
             event.dedup_key, str(event.id)]
    if raw:
        return cells
    return [c if i in _NUMBERS else formula_safe(sanitize(c)) for i, c in enumerate(cells)]


def csv_chunks(events: Iterator[Event], *, raw: bool = False, rows: int = 500
               ) -> Iterator[bytes]:
    """The header, then the rows, encoded a few hundred rows per chunk."""
    buffer = io.StringIO()
    # The csv module quotes a cell holding a delimiter, a quote or a character of the
    # line terminator. With "\n" alone a lone CR went out unquoted and a reader broke
    # the row there; RFC 4180's CRLF makes it quote every cell with a CR or an LF.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for count, event in enumerate(events, start=1):
        writer.writerow(csv_row(event, raw=raw))
        if count % rows == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8", "replace")
    buffer.seek(0)
    buffer.truncate()
    return data


def jsonl_chunks(events: Iterator[Event], *, lines: int = 500) -> Iterator[bytes]:
    """JSON Lines, a few hundred records per chunk."""
    chunk: list[bytes] = []
    for event in events:
        chunk.append(jsonl_line(event))
        if len(chunk) >= lines:
            yield b"".join(chunk)
            chunk.clear()
    yield b"".join(chunk)


def export_chunks(store: Store, investigation_id: int, fmt: str, *, raw: bool = False
                  ) -> Iterator[bytes]:
    """The timeline in ``fmt`` (``jsonl`` or ``csv``), as byte chunks to write or stream.

    :class:`~storage.NotFoundError` at once (not at the first chunk) if there is no
    such investigation."""
    store.get_investigation(investigation_id)
    events = timeline(store, investigation_id)
    if fmt == "csv":
        return csv_chunks(events, raw=raw)
    if fmt == "jsonl":
        return jsonl_chunks(events)
    raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
