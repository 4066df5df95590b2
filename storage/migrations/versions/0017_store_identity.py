"""A random id per store (issue 16: bundle origins name the store they came from).

An exported investigation's origin key was ``created_at#id``: two stores can hold an
investigation with the same id created in the same microsecond, and a bundle from the
other one would then be taken for one of this store's own coming home. The key is now
``store/created_at#id``; this table holds the store's part, made once, here.

Revision ID: 0017_store_identity
Revises: 0016_change_index
Create Date: 2026-12-02
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0017_store_identity"
down_revision = "0016_change_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table("store_identity",
                            sa.Column("id", sa.String(64), nullable=False),
                            sa.PrimaryKeyConstraint("id", name="pk_store_identity"))
    op.bulk_insert(table, [{"id": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("store_identity")
