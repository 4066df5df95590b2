"""Triage: where an imported investigation came from (bundles).

``investigation_origin`` maps a bundle's origin key (the exporting store's
investigation id and creation time, or the origin that one was imported from) to
the local investigation, so importing the same bundle twice is importing it once.

Revision ID: 0014_triage_bundles
Revises: 0012_user_view
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0014_triage_bundles"
down_revision = "0012_user_view"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "investigation_origin",
        sa.Column("origin", sa.String(512), primary_key=True),
        sa.Column("investigation_id", ID,
                  sa.ForeignKey("investigation.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("bundle_sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("investigation_origin")
