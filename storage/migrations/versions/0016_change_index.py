"""A partial index on changes by time (issue 16: "new since the suspect change").

Ranking suspects reads the commits, pipelines and deploys of a six-hour look-back;
without this index the window is walked through ``ix_event_time``, every log line in
it included (432k rows per ranking on a store of 1M lines over 14 h). Only change
rows enter the index, so log ingest pays for the predicate, not for another B-tree.

Revision ID: 0016_change_index
Revises: 0015_token_team
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_change_index"
down_revision = "0015_token_team"
branch_labels = None
depends_on = None

# Frozen here: a migration keeps the predicate it created, whatever the tables say later.
PREDICATE = "kind IN ('commit', 'deploy', 'pipeline')"


def upgrade() -> None:
    op.create_index("ix_event_change_time", "event", ["occurred_at", "id"],
                    sqlite_where=sa.text(PREDICATE), postgresql_where=sa.text(PREDICATE))


def downgrade() -> None:
    op.drop_index("ix_event_change_time", table_name="event")
