"""SQLAlchemy's dialect modules, imported only for the dialect a session talks to.

The PostgreSQL dialect costs tens of milliseconds to import and a SQLite store never
needs it (issue 11: the TUI's start-up on the default store). Modules that build a
dialect-specific statement (``INSERT ... ON CONFLICT``) or type (``JSONB``) ask here
instead of importing ``sqlalchemy.dialects.postgresql`` at module level.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from sqlalchemy.orm import Session


def name_of(session: Session) -> str:
    """``"postgresql"`` or ``"sqlite"``: the dialect of the session's connection."""
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


def module(dialect: Session | str) -> ModuleType:
    """``sqlalchemy.dialects.postgresql`` or ``.sqlite`` (both have ``insert`` with
    ``on_conflict_do_update``/``_do_nothing``), for a session or a dialect name."""
    name = name_of(dialect) if isinstance(dialect, Session) else dialect
    return importlib.import_module(
        f"sqlalchemy.dialects.{'postgresql' if name == 'postgresql' else 'sqlite'}")


def jsonb() -> Any:
    """PostgreSQL's ``JSONB`` type (call only for a PostgreSQL store)."""
    return module("postgresql").JSONB
