"""Persistent store of the workbench: domain models, schema, migrations and queries.

Imports neither ``connectors`` nor ``workbench``, nor Textual or FastAPI.
"""

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
