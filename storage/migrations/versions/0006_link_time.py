"""The linked event's time on each link, indexed per investigation.

An investigation's timeline pages its linked events in time order. Walking the
event time index and probing each event's link costs a scan of the whole store
for a small investigation (1.0 s per page at 1M events, 50 linked); driving from
the link table and sorting costs every link for a big one (1.1 s per page, 500k
linked). With the time on the link, ``(investigation_id, occurred_at, event_id)``
is the timeline's own keyset index: a page costs its rows at any size. An event's
``occurred_at`` never changes after it is stored, so the copy cannot drift.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("investigation_event") as batch:
        batch.add_column(sa.Column("occurred_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE investigation_event SET occurred_at = (SELECT event.occurred_at "
               "FROM event WHERE event.id = investigation_event.event_id)")
    with op.batch_alter_table("investigation_event") as batch:
        batch.alter_column("occurred_at", existing_type=UTCDateTime(), nullable=False)
    op.create_index("ix_investigation_event_time", "investigation_event",
                    ["investigation_id", "occurred_at", "event_id"])


def downgrade() -> None:
    op.drop_index("ix_investigation_event_time", table_name="investigation_event")
    with op.batch_alter_table("investigation_event") as batch:
        batch.drop_column("occurred_at")
