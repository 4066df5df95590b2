"""``user_view``: where each user was (last screen, cursor, filters), so a TUI reopened
after a dropped SSH session comes back to it.

Revision ID: 0012_user_view
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0012_user_view"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_view",
        sa.Column("user_name", sa.String(256), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_view")
