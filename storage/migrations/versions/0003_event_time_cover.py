"""A covering index for counts over a time window.

Counts by source, severity or service over a window, and the bucketed series of
the overview, otherwise look up every event row in the window: a 24-hour series on
a million events (33k rows) took 80-110 ms, mostly in those lookups. With the
grouped columns in the index the scan never leaves it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_event_time_cover", "event",
                    ["occurred_at", "source", "severity", "service"])


def downgrade() -> None:
    op.drop_index("ix_event_time_cover", table_name="event")
