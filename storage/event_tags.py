"""The tag table (``event_tag``): which stored event carries which tag.

An event's ``tags`` column is what it shows; the tag table is what the tag filter
(``tag`` in :data:`storage.event_sql.FILTERS`) searches, on every read path. Every
writer of an event's tags -- ingest, :func:`storage.events.set_tags`, a story's
in-place replacement (:mod:`storage.stories`) -- keeps the table in step through
:func:`write_tags`, so the filter finds an event by the tags it shows and by no
others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
from sqlalchemy import Connection, delete, insert

from storage.models import without_nul
from storage.tables import EventTagRow


def write_tags(conn: Connection, tags: Mapping[int, Sequence[str]], *, replace: bool) -> None:
    """Give each event id in ``tags`` those tags in the tag table.

    ``replace`` first removes the rows an event had (a new event has none: ingest
    skips the delete). A tag listed twice is one row; a NUL becomes U+FFFD, as in
    every stored text.
    """
    if replace and tags:
        conn.execute(delete(EventTagRow).where(EventTagRow.event_id.in_(list(tags))))
    rows = [{"event_id": event_id, "tag": tag}
            for event_id, listed in tags.items() for tag in unique_tags(listed)]
    if rows:
        conn.execute(insert(EventTagRow), rows)


def unique_tags(tags: Sequence[str]) -> list[str]:
    """``tags`` as stored: each once, in first-seen order, NUL replaced."""
    return list(dict.fromkeys(without_nul(tuple(tags))))


def column_tags(encoded: str) -> list[str]:
    """The tags of an event's ``tags`` column (JSON text)."""
    return [] if encoded == "[]" else list(orjson.loads(encoded))


__all__ = ["column_tags", "unique_tags", "write_tags"]
