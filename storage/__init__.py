"""Persistent store of the workbench: domain models, schema, migrations and queries.

Imports neither ``connectors`` nor ``workbench``, nor Textual or FastAPI.

How the rest of the program reaches the store -- one door for each kind of use
------------------------------------------------------------------------------

1. **Every read and every write of product code**: a repository function
   (``storage.events.list_events``, ``storage.investigations.set_status``,
   ``storage.ingest.ingest``, ``storage.tail.matching_after``, ...; keyword-only,
   the session passed explicitly) inside one unit of work from
   :meth:`Store.read` or :meth:`Store.write` (``BEGIN IMMEDIATE`` on SQLite,
   committed on exit). Several repository calls in one ``with`` are one
   transaction: that is how a write and its audit row, or an ingest and its
   cursor, commit together. Events enter only through :func:`storage.ingest.ingest`.
   The front ends only decide *which thread* runs the unit of work; they add no
   queries of their own:

   - the API's ``workbench.api.db.Database`` (``read``/``quick_read``/``write``
     take a ``work(session)`` callable: threadpool, inline on SQLite, writer pool);
   - the TUI's ``workbench.tui.data.Repo`` (blocking methods run in thread
     workers; each one unit of work around repository functions, plus audit);
   - connectors, receivers, the CLI, the demo and the runtime open the unit of
     work themselves.

2. **The API's hottest reads on SQLite** (an event by id, a page of events, the
   token check): :class:`storage.fastread.FastReader`, straight from the driver to
   JSON bytes, running the SQL text that :mod:`storage.event_sql` compiles (so a
   filter means the same there). Nothing else uses it.

3. **Tests, benchmarks and one-off scripts**: :class:`Store`'s one-call shortcuts
   (``store.ingest(...)``, ``store.list_events(...)``), each its own unit of work
   and without audit, so a use that needs a second statement in the same
   transaction, or an audit row, must not be written against them. Not enforced
   yet: no test checks it, and some product code still calls them (the TUI's
   ``Repo``, ``report``, the exports, the demo).

ORM rows (``storage.tables``) never leave this package (an import-linter contract
with no exceptions); repositories return the frozen models below. The event row
as written is defined once, in :func:`storage.converters.event_row`; erasure's
in-place redaction (:mod:`storage.retention`) and the fast path's JSON
(:data:`storage.fastread.AS_JSON`) derive from it and fail at import when a column
is not handled.
"""

from storage import visibility as visibility  # installs the read restriction on Session
from storage.events import NotFoundError
from storage.models import (
    DeadLetter,
    DeadLetterStatus,
    Event,
    EventKind,
    EventLink,
    IngestResult,
    InvalidTransitionError,
    Investigation,
    InvestigationStatus,
    LinkedEvent,
    LinkReason,
    NewDeadLetter,
    NewEvent,
    NewInvestigation,
    Page,
    Severity,
    Source,
)
from storage.pagination import InvalidCursorError
from storage.queries import EventQuery, InvestigationQuery
from storage.store import Store

__all__ = [
    "DeadLetter",
    "DeadLetterStatus",
    "Event",
    "EventKind",
    "EventLink",
    "EventQuery",
    "IngestResult",
    "InvalidCursorError",
    "InvalidTransitionError",
    "Investigation",
    "InvestigationQuery",
    "InvestigationStatus",
    "LinkReason",
    "LinkedEvent",
    "NewDeadLetter",
    "NewEvent",
    "NewInvestigation",
    "NotFoundError",
    "Page",
    "Severity",
    "Source",
    "Store",
]
