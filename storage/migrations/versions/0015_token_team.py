"""API tokens carry a team (issue 15: teams inside a tenant).

A viewer token's team decides which investigations it sees when the config says
``[access] viewers_see = "own_team"`` (:mod:`storage.visibility`). Existing tokens
get none.

Revision ID: 0015_token_team
Revises: 0014_triage
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_token_team"
down_revision = "0014_triage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("team", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("team")
