"""Event roll-ups: counts per minute, hour and day by source, severity and service.

The table ``storage.rollup`` keeps in step with the events (see there), backfilled
from the events already stored by 0016_tenants (per tenant).

Revision ID: 0012_rollups
Revises: 0012_user_view
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_rollups"
down_revision = "0012_user_view"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_rollup",
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(16), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("width", "dim", "bucket", "key", name="pk_event_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_event_rollup_empty", "event_rollup", ["width"],
                    sqlite_where=sa.text("n = 0"), postgresql_where=sa.text("n = 0"))
    # Filled by 0016_tenants, which rebuilds the roll-ups per tenant with the runtime's
    # own statement (that statement reads event.tenant_id, which does not exist yet here).


def downgrade() -> None:
    op.drop_index("ix_event_rollup_empty", table_name="event_rollup")
    op.drop_table("event_rollup")
